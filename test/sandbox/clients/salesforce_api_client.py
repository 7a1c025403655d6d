"""The Salesforce REST APIs beyond CRUD and SOQL, through simple-salesforce (not jsforce): Composite,
Composite Batch (and, as they are emulated, SOSL search, Bulk API 2.0, SOAP login).

Run by test/sandbox/clients.sfapi.test.ts: SANDBOX_SF = {"instanceUrl", "accessToken", "loginUrl", "username",
"password", "securityToken", "parts": [...]}.
Prints one JSON object (what the client saw) on stdout; the test asserts on it and on the org's state.
Any exception the client raises fails the script (traceback on stderr, exit 1).
"""
import json
import os

import requests
from simple_salesforce import Salesforce, SalesforceAuthenticationFailed, SalesforceMalformedRequest

cfg = json.loads(os.environ["SANDBOX_SF"])
parts = set(cfg["parts"])


class LoopbackSession(requests.Session):
    """simple-salesforce writes every URL as https://; the sandbox serves plain http on 127.0.0.1.
    Only the scheme is rewritten — and the SOAP login's https://login.salesforce.com is the sandbox's
    login URL, as DNS would make it: paths, query strings, headers and bodies are the client's own."""

    def request(self, method, url, *args, **kwargs):
        if url.startswith("https://login.salesforce.com/"):
            url = cfg["loginUrl"] + url[len("https://login.salesforce.com"):]
        if url.startswith("https://127.0.0.1:"):
            url = "http://" + url[len("https://"):]
        return super().request(method, url, *args, **kwargs)


sf = Salesforce(instance_url=cfg["instanceUrl"], session_id=cfg["accessToken"], session=LoopbackSession(), version="59.0")
out = {}
V = "/services/data/v59.0"

if "login" in parts:
    # SOAP login with username, password and security token (simple-salesforce's default without OAuth).
    logged = Salesforce(username=cfg["username"], password=cfg["password"], security_token=cfg["securityToken"], session=LoopbackSession(), version="59.0")
    out["login"] = {"instance": logged.sf_instance, "sessionLen": len(logged.session_id), "count": logged.query("SELECT COUNT() FROM Account")["totalSize"]}
    try:
        Salesforce(username=cfg["username"], password="wrong", security_token=cfg["securityToken"], session=LoopbackSession(), version="59.0")
        out["badLogin"] = None
    except SalesforceAuthenticationFailed as e:
        out["badLogin"] = e.code

if "layouts" in parts:
    layouts = sf.restful("sobjects/Account/describe/layouts")
    out["layouts"] = {"keys": sorted(layouts.keys()), "recordType": layouts["recordTypeMappings"][0]["recordTypeId"], "id": layouts["layouts"][0]["id"]}
    one = sf.Account.describe_layout(layouts["recordTypeMappings"][0]["recordTypeId"])
    out["layoutById"] = one["id"]

if "search" in parts:
    sf.Account.create({"Name": "Py Search (Ltd) & Co"})
    sf.Account.create({"Name": "Py Searchable Two"})
    # SOSL with the reserved characters escaped by a backslash, as the SOSL reference says.
    reserved = set("?&|!{}[]()^~*:\\\"'+-")
    escaped = "".join("\\" + c if c in reserved else c for c in "Search (Ltd) &")
    found = sf.search("FIND {" + escaped + "} IN NAME FIELDS RETURNING Account(Name)")
    out["search"] = [r["Name"] for r in found["searchRecords"]]
    out["searchWildcard"] = sorted(r["Name"] for r in sf.search("FIND {Search*} RETURNING Account(Name ORDER BY Name LIMIT 5)")["searchRecords"])
    out["quickSearch"] = [r["attributes"]["type"] for r in sf.quick_search("Searchable")["searchRecords"]]
    ps = sf.restful("parameterizedSearch", params={"q": "searchable", "sobject": "Account", "Account.fields": "Id,Name"})
    out["parameterized"] = [r["Name"] for r in ps["searchRecords"]]
    try:
        sf.search("FIND {x}")
        out["shortTerm"] = None
    except SalesforceMalformedRequest as e:
        out["shortTerm"] = e.content[0]["errorCode"]

if "bulk2" in parts:
    # Bulk API 2.0 through sf.bulk2: records with what CSV must quote, then the job's results and a paged query.
    rows = cfg["bulkRows"]
    inserted = sf.bulk2.Account.insert(records=rows, wait=0.05)
    job_id = inserted[0]["job_id"]
    out["bulkInsert"] = {k: inserted[0][k] for k in ("numberRecordsProcessed", "numberRecordsFailed", "numberRecordsTotal")}
    import csv as csvmod
    import io
    ok = list(csvmod.DictReader(io.StringIO(sf.bulk2.Account.get_successful_records(job_id))))
    bad = list(csvmod.DictReader(io.StringIO(sf.bulk2.Account.get_failed_records(job_id))))
    out["bulkSuccessful"] = [{"id": r["sf__Id"], "created": r["sf__Created"], "Name": r["Name"], "Description": r["Description"]} for r in ok]
    out["bulkFailed"] = [r["sf__Error"].split(":")[0] for r in bad]
    pages = []
    for page in sf.bulk2.Account.query("SELECT Id, Name, Description FROM Account WHERE Name LIKE 'PyBulk%' ORDER BY Name", max_records=2, wait=0.05):
        pages.append(list(csvmod.DictReader(io.StringIO(page))))
    out["bulkQueryPages"] = [len(p) for p in pages]
    out["bulkQuery"] = [{"Name": r["Name"], "Description": r["Description"]} for p in pages for r in p]

if "composite" in parts:
    res = sf.restful("composite", method="POST", json={
        "allOrNone": True,
        "compositeRequest": [
            {"method": "POST", "url": f"{V}/sobjects/Account", "referenceId": "acc", "body": {"Name": "Py Composite Co"}},
            {"method": "POST", "url": f"{V}/sobjects/Opportunity", "referenceId": "opp",
             "body": {"Name": "Py Composite deal", "StageName": "Prospecting", "CloseDate": "2027-02-01", "AccountId": "@{acc.id}"}},
            {"method": "GET", "url": f"{V}/sobjects/Opportunity/@{{opp.id}}?fields=AccountId,Name", "referenceId": "read"},
        ],
    })
    out["composite"] = [(r["referenceId"], r["httpStatusCode"]) for r in res["compositeResponse"]]
    out["compositeIds"] = {r["referenceId"]: r["body"].get("id") for r in res["compositeResponse"][:2]}
    out["compositeRead"] = res["compositeResponse"][2]["body"]["AccountId"]
    rolled = sf.restful("composite", method="POST", json={
        "allOrNone": True,
        "compositeRequest": [
            {"method": "POST", "url": f"{V}/sobjects/Account", "referenceId": "ok", "body": {"Name": "Py Rolled Back Co"}},
            {"method": "POST", "url": f"{V}/sobjects/Account", "referenceId": "bad", "body": {"Industry": "no name"}},
        ],
    })
    out["compositeRolledBack"] = [(r["referenceId"], r["httpStatusCode"], r["body"][0]["errorCode"]) for r in rolled["compositeResponse"]]
    batch = sf.restful("composite/batch", method="POST", json={
        "haltOnError": True,
        "batchRequests": [
            {"method": "PATCH", "url": f"v59.0/sobjects/Account/{out['compositeIds']['acc']}", "richInput": {"Website": "https://py.example.com"}},
            {"method": "GET", "url": f"v59.0/sobjects/Account/{out['compositeIds']['acc']}?fields=Website"},
            {"method": "GET", "url": "v59.0/sobjects/Nope__c/describe"},
            {"method": "GET", "url": "v59.0/limits"},
        ],
    })
    out["batch"] = {"hasErrors": batch["hasErrors"], "codes": [r["statusCode"] for r in batch["results"]], "website": batch["results"][1]["result"]["Website"]}

print(json.dumps(out))
