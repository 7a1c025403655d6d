"""Ordinary Salesforce work through simple-salesforce (not jsforce), against a sandbox org.

Run by test/sandbox/clients.test.ts: SANDBOX_SF = {"instanceUrl", "accessToken", "extIds": [...]}.
Prints one JSON object (what the client saw) on stdout; the test asserts on it and on the org's state.
Any exception the client raises fails the script (traceback on stderr, exit 1).
"""
import datetime
import json
import os
import sys

import requests
from simple_salesforce import Salesforce, SalesforceMalformedRequest, SalesforceResourceNotFound, format_soql
from simple_salesforce.format import format_external_id

cfg = json.loads(os.environ["SANDBOX_SF"])
calls = []


class LoopbackSession(requests.Session):
    """simple-salesforce writes every URL as https://; the sandbox serves plain http on 127.0.0.1.
    Only the scheme is rewritten: paths, query strings, headers and bodies are the client's own."""

    def request(self, method, url, *args, **kwargs):
        if url.startswith("https://127.0.0.1:"):
            url = "http://" + url[len("https://"):]
        res = super().request(method, url, *args, **kwargs)
        calls.append({"method": method, "url": "/" + res.request.url.split("127.0.0.1:", 1)[1].split("/", 1)[1], "status": res.status_code, "contentType": res.request.headers.get("Content-Type"), "body": res.request.body is not None})
        return res


sf = Salesforce(instance_url=cfg["instanceUrl"], session_id=cfg["accessToken"], session=LoopbackSession(), version="59.0")
out = {}

# Probing the connection, as clients do.
out["isSandbox"] = sf.is_sandbox()
org = sf.query("SELECT Id, Name, OrganizationType, IsSandbox FROM Organization")
out["organization"] = {k: org["records"][0][k] for k in ("Id", "Name", "OrganizationType", "IsSandbox")}
limits = sf.limits()
out["limits"] = {"DailyApiRequests": limits["DailyApiRequests"], "keys": sorted(limits.keys())}
out["apiUsage"] = sf.api_usage["api-usage"].used if "api-usage" in sf.api_usage else None

# Describe: global and one object, read the way clients read them.
g = sf.describe()
out["globalNames"] = [s["name"] for s in g["sobjects"]]
d = sf.Account.describe()
out["describe"] = {
    "fieldKeys": sorted(d["fields"][0].keys()),
    "topKeys": sorted(d.keys()),
    "recordTypes": [(r["name"], r["master"], r["recordTypeId"]) for r in d["recordTypeInfos"]],
    "children": sorted((c["childSObject"], c["field"], c["relationshipName"]) for c in d["childRelationships"] if c["relationshipName"]),
    "extId": [f["name"] for f in d["fields"] if f["externalId"]],
}

# Create (POST .../sobjects/Account/ — trailing slash), read, update, delete (DELETE with a JSON content type, no body).
created = sf.Account.create({"Name": "Python Co", "Industry": "Technology"})
acc_id = created["id"]
out["create"] = created
sf.Account.update(acc_id, {"Website": "https://python.example.com"})
out["get"] = {k: sf.Account.get(acc_id)[k] for k in ("Name", "Website", "Industry")}

# Upsert by external id, values needing percent-encoding (format_external_id quotes with safe='').
out["upserts"] = []
for ext in cfg["extIds"]:
    status_new = sf.Account.upsert(format_external_id("Ext_Id__c", ext), {"Name": f"Ext {ext}"})
    status_again = sf.Account.upsert(format_external_id("Ext_Id__c", ext), {"Name": f"Ext {ext} v2"})
    got = sf.Account.get(format_external_id("Ext_Id__c", ext))
    # get_by_custom_id quotes with quote_plus: a space goes as '+', which Salesforce reads as a plus sign in
    # a path (simple-salesforce issue #801: such records are "not found"), so it finds them only without spaces.
    try:
        by_custom = sf.Account.get_by_custom_id("Ext_Id__c", ext)["Id"]
    except SalesforceResourceNotFound:
        by_custom = "NOT_FOUND"
    out["upserts"].append({"ext": ext, "first": status_new, "second": status_again, "readBack": got["Ext_Id__c"], "name": got["Name"], "id": got["Id"], "byCustomId": by_custom})

# SOQL with values escaped by the client: quotes, backslashes, LIKE wildcards taken literally.
sf.Account.create({"Name": "100% real_deal"})
sf.Account.create({"Name": "1000 realXdeal"})
like = sf.query(format_soql("SELECT Name FROM Account WHERE Name LIKE '{:like}%'", "100% real_"))
out["like"] = sorted(r["Name"] for r in like["records"])
sf.Account.create({"Name": "O'Brien \\ \"Sons\""})
quoted = sf.query(format_soql("SELECT Name FROM Account WHERE Name = {}", "O'Brien \\ \"Sons\""))
out["quoted"] = [r["Name"] for r in quoted["records"]]
since = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=1)
recent = sf.query(format_soql("SELECT COUNT() FROM Account WHERE CreatedDate > {}", since))
out["recentCount"] = recent["totalSize"]

# FIELDS() (bounded) and the query's columns (columns=True: requests spells the boolean 'True').
fields_all = sf.query("SELECT FIELDS(ALL) FROM Account ORDER BY Name LIMIT 3")
out["fieldsAll"] = {"n": len(fields_all["records"]), "keys": sorted(k for k in fields_all["records"][0].keys() if k != "attributes")}
fields_custom = sf.query("SELECT FIELDS(CUSTOM) FROM Account LIMIT 1")
out["fieldsCustom"] = sorted(k for k in fields_custom["records"][0].keys() if k != "attributes")
try:
    sf.query("SELECT FIELDS(ALL) FROM Account")
    out["fieldsUnbounded"] = "accepted"
except SalesforceMalformedRequest as e:
    out["fieldsUnbounded"] = e.content[0]["errorCode"]
cols = sf.restful("query/", params={"q": "SELECT Id, Name, Owner.Email FROM Account", "columns": True})
out["columns"] = [(c["columnName"], [j["columnName"] for j in c["joinColumns"]]) for c in cols["columnMetadata"]]

# query_all pages through nextRecordsUrl (query_more).
out["queryAllCount"] = len(sf.query_all("SELECT Id FROM Opportunity")["records"])

# Replication: updated/ and deleted/ (trailing slash before the query string).
sf.Account.delete(acc_id)
start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=2)
end = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=5)
deleted = sf.Account.deleted(start, end)
out["deleted"] = sorted(deleted.keys())
out["deletedId"] = acc_id

# Errors the client maps: a missing record, a bad column.
try:
    sf.Account.get(acc_id)
    out["getDeleted"] = "found"
except SalesforceResourceNotFound as e:
    out["getDeleted"] = e.content[0]["errorCode"]
try:
    sf.query("SELECT Nope__c FROM Account")
except SalesforceMalformedRequest as e:
    out["badColumn"] = e.content[0]["errorCode"]

# Collections delete with allOrNone=True in the query string (Python's spelling of the boolean).
ids = [sf.Account.create({"Name": f"Bulk {i}"})["id"] for i in range(3)]
res = sf.restful("composite/sobjects", method="DELETE", params={"ids": ",".join(ids), "allOrNone": True})
out["collectionDelete"] = [r["success"] for r in res]

# sObject Tree: an account with two opportunities nested under the child relationship name; then a tree
# with one invalid child, which creates nothing.
tree = {"records": [{"attributes": {"type": "Account", "referenceId": "acc1"}, "Name": "Tree Co", "Opportunities": {"records": [
    {"attributes": {"type": "Opportunity", "referenceId": "opp1"}, "Name": "Tree deal 1", "StageName": "Prospecting", "CloseDate": "2027-01-31"},
    {"attributes": {"type": "Opportunity", "referenceId": "opp2"}, "Name": "Tree deal 2", "StageName": "Closed Won", "CloseDate": "2027-02-28"},
]}}]}
out["tree"] = sf.restful("composite/tree/Account", method="POST", json=tree)
bad = {"records": [{"attributes": {"type": "Account", "referenceId": "accX"}, "Name": "Tree Rollback Co", "Opportunities": {"records": [
    {"attributes": {"type": "Opportunity", "referenceId": "oppX"}, "Name": "No stage"}]}}]}
try:
    sf.restful("composite/tree/Account", method="POST", json=bad)
    out["badTree"] = "accepted"
except SalesforceMalformedRequest as e:
    out["badTree"] = e.content

out["calls"] = calls
print(json.dumps(out))
