"""An in-memory HighLevel contact list behind ``responses``: the two contact listings a
subscription polls, paged the way HighLevel documents them.

- ``POST /contacts/search``: ``pageLimit`` + ``searchAfter`` (from the last record), ``filters``
  with ``dateUpdated`` ``range``; answers ``{"contacts": [...], "total": n}``.
- ``GET /contacts/``: ``limit`` + ``startAfter``/``startAfterId``, ``meta.nextPageUrl``.
"""

import json
import random
import string
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import responses


class Killed(BaseException):
    """Stands for SIGKILL: nothing in the worker catches it."""


class FakeContacts:
    def __init__(self, *, api_base, location_id="loc-1"):
        self.api_base = api_base
        self.location_id = location_id
        self.rows = []  # dicts, in creation order
        self.clock = datetime(2026, 1, 1, tzinfo=UTC)
        self.requests = []  # (method, path, query or body) of every request
        self.kill_on = None  # raise Killed on this request number (1-based)

    def _stamp(self):
        self.clock += timedelta(milliseconds=random.randint(1, 3))
        return self.clock.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def add(self, count):
        for _ in range(count):
            n = len(self.rows)
            stamp = self._stamp()
            self.rows.append({
                "id": "".join(random.choices(string.ascii_letters, k=20)),
                "locationId": self.location_id, "firstName": f"First{n}", "lastName": f"Last{n}",
                "email": f"person{n}@example.com", "tags": ["lead"], "dateAdded": stamp,
                "dateUpdated": stamp,
            })

    def change(self, index, **fields):
        self.rows[index].update(fields, dateUpdated=self._stamp())

    def delete(self, index):
        return self.rows.pop(index)

    def install(self, rsps):
        rsps.add_callback(responses.POST, f"{self.api_base}/contacts/search", callback=self._search)
        rsps.add_callback(responses.GET, f"{self.api_base}/contacts/", callback=self._list)

    def _count(self, entry):
        self.requests.append(entry)
        if self.kill_on is not None and len(self.requests) == self.kill_on:
            raise Killed

    def _search(self, request):
        body = json.loads(request.body)
        self._count(("POST", "/contacts/search", body))
        rows = self.rows
        for flt in body.get("filters") or []:
            assert flt["field"] == "dateUpdated" and flt["operator"] == "range", flt
            rows = [r for r in rows if r["dateUpdated"] >= flt["value"]["gte"]]
        start = 0
        if body.get("searchAfter"):
            last_id = body["searchAfter"][-1]
            start = next(i for i, r in enumerate(rows) if r["id"] == last_id) + 1
        limit = int(body.get("pageLimit", 20))
        assert limit <= 100
        page = [{**r, "searchAfter": [r["dateAdded"], r["id"]]} for r in rows[start:start + limit]]
        return 200, {}, json.dumps({"contacts": page, "total": len(rows)})

    def _list(self, request):
        query = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
        self._count(("GET", "/contacts/", query))
        assert query["locationId"] == self.location_id
        limit = int(float(query.get("limit", 20)))
        assert limit <= 100
        start = 0
        if query.get("startAfterId"):
            start = next(i for i, r in enumerate(self.rows) if r["id"] == query["startAfterId"]) + 1
        page = self.rows[start:start + limit]
        meta = {"total": len(self.rows), "nextPageUrl": None, "startAfterId": None, "startAfter": None}
        if start + limit < len(self.rows):
            after = {"startAfterId": page[-1]["id"], "startAfter": 1700000000000 + start + limit}
            meta.update(after, nextPageUrl=f"{self.api_base}/contacts/?{urlencode({**query, **after})}")
        return 200, {}, json.dumps({"contacts": page, "meta": meta})
