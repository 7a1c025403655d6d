"""Ordinary HubSpot CRM work through the Python hubspot-api-client (not @hubspot/api-client), against a
sandbox portal.

Run by test/sandbox/clients.test.ts: SANDBOX_HS = {"basePath", "accessToken"}. Prints one JSON object (what
the client saw, deserialised into its own models, which check required members and enums) on stdout.
Any exception the client raises fails the script (traceback on stderr, exit 1).
"""
import json
import os

from hubspot import HubSpot
from hubspot.crm.associations.v4 import AssociationSpec
from hubspot.crm.companies import (
    ApiException as CompaniesApiException,
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchReadInputSimplePublicObjectId,
    Filter,
    FilterGroup,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInputUpsert,
    SimplePublicObjectId,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.deals import SimplePublicObjectInputForCreate as DealCreate
from hubspot.crm.properties import PropertyCreate

cfg = json.loads(os.environ["SANDBOX_HS"])
client = HubSpot(access_token=cfg["accessToken"], host=cfg["basePath"])
out = {}

# A unique property to upsert by.
client.crm.properties.core_api.create("companies", PropertyCreate(
    name="py_ext_id", label="Python ext id", type="string", field_type="text", group_name="companyinformation", has_unique_value=True))
props = client.crm.properties.core_api.get_all("companies", archived=False)
out["propertyNames"] = sorted(p.name for p in props.results)

# CRUD: create, read (archived=False is sent as 'False'), update, archive, read archived (archived=True: 'True').
c = client.crm.companies.basic_api.create(SimplePublicObjectInputForCreate(properties={"name": "Py Co", "domain": "py.example.com"}))
out["created"] = {"id": c.id, "name": c.properties["name"], "archived": c.archived}
got = client.crm.companies.basic_api.get_by_id(c.id, properties=["name", "domain"], archived=False)
out["got"] = got.properties["domain"]
upd = client.crm.companies.basic_api.update(c.id, SimplePublicObjectInput(properties={"domain": "py2.example.com"}))
out["updated"] = upd.properties["domain"]
page = client.crm.companies.basic_api.get_page(limit=5, archived=False, properties=["name"])
out["pageSize"] = len(page.results)
out["pageAfter"] = page.paging.next.after if page.paging else None

# Search: an EQ filter on the new name and a CONTAINS_TOKEN on the domain.
res = client.crm.companies.search_api.do_search(PublicObjectSearchRequest(
    filter_groups=[FilterGroup(filters=[Filter(property_name="name", operator="EQ", value="Py Co")])], properties=["name", "domain"], limit=10))
out["search"] = {"total": res.total, "ids": [r.id for r in res.results]}

# Deals with the default association to the company (PUT with a JSON content type and no body), read back, removed.
deal = client.crm.deals.basic_api.create(DealCreate(properties={"dealname": "Py deal", "amount": "1200.50", "pipeline": "default", "dealstage": "appointmentscheduled"}))
out["deal"] = {"id": deal.id, "amount": deal.properties["amount"]}
client.crm.associations.v4.basic_api.create_default("deals", deal.id, "companies", c.id)
assoc = client.crm.associations.v4.basic_api.get_page("deals", deal.id, "companies", limit=500)
out["associations"] = [{"to": r.to_object_id, "types": sorted(t.type_id for t in r.association_types)} for r in assoc.results]
client.crm.associations.v4.basic_api.create("deals", deal.id, "companies", c.id, [AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=5)])
out["labelledTypes"] = sorted(t.type_id for r in client.crm.associations.v4.basic_api.get_page("deals", deal.id, "companies").results for t in r.association_types)
with_assoc = client.crm.deals.basic_api.get_by_id(deal.id, associations=["companies"], archived=False)
out["dealAssociations"] = sorted({a.id for a in with_assoc.associations["companies"].results})
client.crm.associations.v4.basic_api.archive("deals", deal.id, "companies", c.id)
out["associationsAfterArchive"] = len(client.crm.associations.v4.basic_api.get_page("deals", deal.id, "companies").results)

# Batch: upsert by the unique property, then read by it.
up = client.crm.companies.batch_api.upsert(BatchInputSimplePublicObjectBatchInputUpsert(inputs=[
    SimplePublicObjectBatchInputUpsert(id="py-1", id_property="py_ext_id", properties={"name": "Batch one"}),
    SimplePublicObjectBatchInputUpsert(id="py/2?", id_property="py_ext_id", properties={"name": "Batch two"}),
]))
out["upserted"] = sorted((r.properties["py_ext_id"], r.new) for r in up.results)
read = client.crm.companies.batch_api.read(BatchReadInputSimplePublicObjectId(
    inputs=[SimplePublicObjectId(id="py-1"), SimplePublicObjectId(id="py/2?")], id_property="py_ext_id", properties=["name", "py_ext_id"]), archived=False)
out["batchRead"] = sorted(r.properties["name"] for r in read.results)
by_unique = client.crm.companies.basic_api.get_by_id("py/2?", id_property="py_ext_id", properties=["name"])
out["byUniqueId"] = by_unique.properties["name"]

# Archive, then the archived list and a read with archived=True.
client.crm.companies.basic_api.archive(c.id)
try:
    client.crm.companies.basic_api.get_by_id(c.id)
    out["afterArchive"] = "found"
except CompaniesApiException as e:
    out["afterArchive"] = e.status
archived = client.crm.companies.basic_api.get_by_id(c.id, archived=True)
out["archivedRead"] = {"id": archived.id, "archived": archived.archived}
archived_page = client.crm.companies.basic_api.get_page(limit=100, archived=True)
out["archivedIds"] = [r.id for r in archived_page.results]

# Pipelines and owners, as clients list them.
pipes = client.crm.pipelines.pipelines_api.get_all("deals")
out["pipelines"] = [(p.id, len(p.stages)) for p in pipes.results]
owners = client.crm.owners.owners_api.get_page(limit=10, archived=False)
out["owners"] = len(owners.results)

out["companyId"] = c.id
out["dealId"] = deal.id
print(json.dumps(out))
