"""One Hub user must not be able to get other users' jobs killed through the GPU arbiter (issue 33,
finding 5): bounded fields, capped history, a per-user rate, incremental persistence — and the flood
itself, on a real Hub, while another user's job keeps its lease and finishes."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import statistics
import threading
import time

import httpx
import pytest

from jupyter_trio.hub.arbiter import REQUEST_SCOPE
from jupyter_trio.hub.leases import GRANTED, RELEASED, LeaseBook, Policy
from jupyter_trio.hub.state import LeaseStore
from jupyter_trio.testing import (
    arbiter_hub,
    arbiter_in_process,
    proxy_command,
    serve_arbiter,
    wait_for,
)

USERS = {
    "tok-alice": {"name": "alice", "scopes": [REQUEST_SCOPE]},
    "tok-bob": {"name": "bob", "scopes": [REQUEST_SCOPE]},
}


# ---- the book and its file: bounded, whatever one user does


def test_request_release_cycles_keep_the_book_and_its_file_small(tmp_path):
    book, store = LeaseBook([0, 1], Policy(max_history_per_user=20)), LeaseStore(tmp_path / "l.sqlite")
    for i in range(3000):  # one user, one GPU-second per cycle
        lease = book.request("mallory", f"flood/{i}", 1, 0, now=1000.0 + 2 * i)
        store.flush(book)
        book.end(lease, RELEASED, now=1001.0 + 2 * i)
        store.flush(book)
    assert len(book.leases) == 20  # the newest 20 are listed ...
    assert book.usage("mallory", now=7001.0) == pytest.approx(3000.0)  # ... all 3000 still count
    timings = []
    for k in range(21):
        start = time.perf_counter()
        lease = book.request("bob", f"bob/{k}", 1, 0, now=7002.0 + k)
        store.flush(book)
        timings.append(time.perf_counter() - start)
        book.end(lease, RELEASED, now=7002.5 + k)
        store.flush(book)
    # stated, not asserted (speed is the bench's): before this change ~0.06 s here, 0.38 s at 20,000 cycles
    print(f"\nrequest + save after 3,000 cycles: median {statistics.median(timings) * 1000:.2f} ms")

    db = sqlite3.connect(tmp_path / "l.sqlite")
    assert db.execute("SELECT count(*) FROM leases").fetchone()[0] == 40  # 20 each; the rest is usage
    db.close()
    again = LeaseBook([0, 1], Policy(max_history_per_user=20))
    LeaseStore(tmp_path / "l.sqlite").load(again)
    assert again.usage("mallory", now=7001.0) == pytest.approx(3000.0)
    assert {x.id for x in again.leases.values()} == {x.id for x in book.leases.values()}
    assert again.request("carol", "c/1", 1, 0, now=8000.0).id not in book.leases  # ids go on


def test_fair_share_still_counts_history_that_was_trimmed():
    book = LeaseBook([0], Policy(max_history_per_user=1, fair_share_window=3600))
    for i in range(5):  # alice: 5 x 100 GPU-seconds, only the last one still listed
        lease = book.request("alice", f"a/{i}", 1, 0, now=i * 100.0)
        book.end(lease, RELEASED, now=i * 100.0 + 100)
    bob_old = book.request("bob", "b/0", 1, 0, now=500)
    book.end(bob_old, RELEASED, now=900)  # bob: 400 GPU-seconds, less than alice's 500
    holder = book.request("carol", "c/1", 1, 0, now=900)
    alice, bob = book.request("alice", "a/9", 1, 0, now=901), book.request("bob", "b/9", 1, 0, now=902)
    book.end(holder, RELEASED, now=1000)
    assert bob.state == GRANTED and alice.state == "queued"
    # out of the window (an hour later) alice's old use no longer counts: to one usage bucket (12 s here)
    assert book.usage("alice", now=500 + 3600) <= book.bucket
    assert book.usage("alice", now=500 + 3600 + book.bucket) == 0


def test_an_old_json_state_file_is_migrated_once(tmp_path):
    old = {
        "next": 7,
        "leases": [
            {"id": "L000005", "user": "alice", "job": "a/1", "gpus_wanted": 1, "priority": 0,
             "created_at": 10.0, "secret": "s5", "state": "released", "gpus": [0], "granted_at": 10.0,
             "ended_at": 110.0},
            {"id": "L000006", "user": "bob", "job": "b/1", "gpus_wanted": 1, "priority": 0,
             "created_at": 20.0, "secret": "s6", "state": "granted", "gpus": [1], "granted_at": 20.0,
             "expires_at": 50.0},
        ],
    }  # fmt: skip
    (tmp_path / "leases.json").write_text(json.dumps(old))
    book = LeaseBook([0, 1], Policy())
    LeaseStore(tmp_path / "leases.sqlite").load(book)  # the old default name sat beside the new one
    assert book.leases["L000006"].state == GRANTED and book.usage("alice", now=200) == pytest.approx(100)
    assert not (tmp_path / "leases.json").exists() and (tmp_path / "leases.json.migrated").exists()
    again = LeaseBook([0, 1], Policy())
    LeaseStore(tmp_path / "leases.sqlite").load(again)  # read from SQLite now, not from the JSON
    assert again.leases["L000006"].secret == "s6" and again.usage("alice", now=200) == pytest.approx(100)
    assert again.request("carol", "c/1", 1, 0, now=300).id == "L000007"


# ---- the service: bad input is a clear 4xx, a flood is refused per user


@contextlib.asynccontextmanager
async def served(tmp_path):
    """The arbiter in this process (GPUs 0,1; alice may make 5 lease requests at once) and a client."""
    arbiter = arbiter_in_process(
        tmp_path / "leases.sqlite", ["--TrioGPUArbiter.user_rate_burst=5"], tokens=dict(USERS)
    )
    async with serve_arbiter(arbiter, max_body_size=65536) as http:
        yield arbiter, http


def alice(**headers):
    return {"Authorization": "token tok-alice", **headers}


BAD_BODIES = [
    (b"not json", 400),
    (b"[1, 2]", 400),
    (b"[" * 3000 + b"]" * 3000, 413),
    (b"[" * 2000 + b"]" * 2000, 400),  # past the parser's depth
    (json.dumps({"job": "x" * 3000}).encode(), 422),
    (json.dumps({"job": "j" * 257}).encode(), 422),
    (json.dumps({"job": {"a": 1}}).encode(), 422),
    (json.dumps({"job": "a\nb"}).encode(), 422),
    (json.dumps({"job": "j", "gpus": "2"}).encode(), 422),
    (json.dumps({"job": "j", "gpus": 1.5}).encode(), 422),
    (json.dumps({"job": "j", "gpus": True}).encode(), 422),
    (json.dumps({"job": "j", "gpus": 10**30}).encode(), 422),
    (json.dumps({"job": "j", "priority": -(10**30)}).encode(), 422),
    (json.dumps({"job": "j", "gpus": 3}).encode(), 422),  # more than the machine has
    (b"\xff\xfe", 400),
]


@pytest.mark.parametrize(("body", "status"), BAD_BODIES)
async def test_bad_lease_requests_get_a_clear_4xx(tmp_path, body, status):
    async with served(tmp_path) as (arbiter, http):
        reply = await http.post("leases", content=body, headers=alice())
        assert reply.status_code == status, reply.text
        assert reply.json()["error"]["status"] == status and reply.json()["error"]["message"]
        assert arbiter.book.leases == {}


async def test_odd_paths_and_headers_get_json_4xx(tmp_path):
    async with served(tmp_path) as (_, http):
        await odd_requests(http)


async def odd_requests(http: httpx.AsyncClient) -> None:
    made = (await http.post("leases", json={"job": "a/1"}, headers=alice())).json()
    odd = [  # a lease id of 5000 characters, a wrong and a non-ASCII secret, no route, an unknown token
        ("GET", "leases/" + "L" * 5000, {}),
        ("POST", f"leases/{made['id']}/renew", {"X-Trio-Lease-Secret": "wrong"}),
        ("POST", f"leases/{made['id']}/renew", {"X-Trio-Lease-Secret": "\u00e9t\u00e9".encode("latin-1")}),
        ("GET", "nowhere", {}),
        ("GET", "leases", {"Authorization": "token unknown"}),
    ]
    for method, path, headers in odd:
        reply = await http.request(method, path, headers={**alice(), **headers})
        assert 400 <= reply.status_code < 500 and reply.json()["error"]["message"], (path, reply.text)


async def test_one_users_request_flood_is_refused_and_renewals_are_not(tmp_path):
    async with served(tmp_path) as (_, http):
        await request_flood(http)


async def request_flood(http: httpx.AsyncClient) -> None:
    statuses = []
    for i in range(20):
        reply = await http.post("leases", json={"job": f"flood/{i}"}, headers=alice())
        statuses.append(reply.status_code)
        if reply.status_code < 300:
            await http.delete(f"leases/{reply.json()['id']}", headers=alice())
    assert statuses.count(429) >= 10, statuses
    refused = await http.post("leases", json={"job": "more"}, headers=alice())
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert "too many lease requests" in refused.json()["error"]["message"]
    # bob is another user: his budget is his own; his job's renewals are never counted
    lease = await http.post("leases", json={"job": "b/1"}, headers={"Authorization": "token tok-bob"})
    assert lease.status_code == 201
    secret = {"X-Trio-Lease-Secret": lease.json()["secret"]}
    for _ in range(50):
        assert (await http.post(f"leases/{lease.json()['id']}/renew", headers=secret)).status_code == 200


# ---- the flood on a real Hub


def gpu_job(http: httpx.Client, prefix: str, seconds: float) -> str:
    """A shell task asking for one GPU, started now; its name."""
    http.post("/trio/api/workspace/shell")
    reply = http.post(
        "/trio/api/generator/create",
        json={"name_prefix": prefix, "mode": "shell", "shell_text": f"sleep {seconds}", "gpus": 1}
        | {"run": True},
    )
    assert reply.status_code == 201, reply.text
    return reply.json()["items"][0]["name"]


def renew_probe(
    url: str, secret: str, stop: threading.Event, failed: list[str], every: float = 0.2
) -> list[float]:
    """Renew a lease every ``every`` s until ``stop``; the time each renewal took (a renewal that did not
    answer 200 goes into ``failed``: a thread's assert would not fail the test)."""
    took = []
    with httpx.Client(timeout=30) as http:
        while not stop.wait(every):
            start = time.perf_counter()
            reply = http.post(f"{url}/renew", headers={"X-Trio-Lease-Secret": secret})
            took.append(time.perf_counter() - start)
            if reply.status_code != 200:
                failed.append(f"{reply.status_code} {reply.text[:200]}")
    return took


def flood(base: str, token: str, stop: threading.Event, kind: str, counts: dict[str, int]) -> None:
    """What one user can throw at the arbiter: request/release cycles (``cycles``), requests with a job
    name of 4 MB (``big``, kept only 12 times), and full listings of every lease ever held (``reads``)."""
    headers = {"Authorization": f"token {token}"}
    big = 0
    with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
        i = 0
        while not stop.is_set():
            i += 1
            try:
                if kind == "reads":
                    reply = http.get("api/leases", params={"ended": 1})
                else:
                    name = f"flood/{kind}/{i}/" + ("x" * 4_000_000 if kind == "big" and big < 12 else "")
                    reply = http.post("api/leases", json={"job": name})
                    if reply.status_code in (201, 202):
                        big += kind == "big"
                        http.delete(f"api/leases/{reply.json()['id']}")
            except httpx.TransportError:  # the arbiter closes a connection whose body is too large
                reply = None
            key = str(reply.status_code if reply is not None else "closed")
            counts[key] = counts.get(key, 0) + 1


@pytest.mark.slow
@pytest.mark.skipif(proxy_command() is None, reason="configurable-http-proxy missing (./dev installs it)")
def test_one_users_flood_leaves_another_users_job_its_lease(tmp_path):
    args = ["--TrioGPUArbiter.gpus=0,1", "--TrioGPUArbiter.max_gpus_per_user=1"]
    args.append("--TrioGPUArbiter.lease_ttl=2")
    with arbiter_hub(tmp_path, args) as hub:
        tokens = {u: hub.token_for(u) for u in ("alice", "bob", "carol", "boss")}
        with hub.admin() as http:
            service = http.get("/hub/api/services/trio-gpus").json()
        base = service["url"].rstrip("/") + service["prefix"]  # the arbiter itself, as jobs reach it
        hub.start_server("bob")
        bob = hub.client("bob", tokens["bob"])
        name = gpu_job(bob, "steady", 14)  # renews its lease every TTL/3 s while alice floods
        wait_for(lambda: bob.get(f"/trio/api/tasks/{name}").json()["status"] == "running", 60)
        with httpx.Client(base_url=base, headers={"Authorization": f"token {tokens['carol']}"}) as carol:
            probe = carol.post("api/leases", json={"job": "probe"}).json()
        assert probe["state"] == "granted"

        stop, counts, took, failed = threading.Event(), {}, [], []
        url = f"{base}api/leases/{probe['id']}"
        prober = threading.Thread(target=lambda: took.extend(renew_probe(url, probe["secret"], stop, failed)))
        kinds = ["big", "cycles", "cycles", "reads", "reads", "reads"]
        flooders = [
            threading.Thread(target=flood, args=(base, tokens["alice"], stop, kind, counts)) for kind in kinds
        ]
        for t in [prober, *flooders]:
            t.start()
        time.sleep(12)
        stop.set()
        for t in [prober, *flooders]:
            t.join(120)
        requests = sum(counts.values())
        p50, p99 = statistics.median(took), statistics.quantiles(took, n=100, method="inclusive")[98]
        print(f"\nflood: {requests} requests by alice {counts}; carol's renewals: n={len(took)}, "
              f"p50={p50 * 1000:.1f} ms, p99={p99 * 1000:.1f} ms, max={max(took) * 1000:.1f} ms")  # fmt: skip

        task = wait_for(
            lambda: (
                (t := bob.get(f"/trio/api/tasks/{name}").json())["status"] not in ("queued", "running") and t
            ),
            60,
        )
        # the figures are stated above (docs/operator-guide/jupyterhub.md); what must hold is behaviour:
        assert failed == [], f"carol's renewals refused under the flood: {failed[:3]}"
        assert task["status"] == "completed", task  # bob's job kept its lease to the end
        with httpx.Client(base_url=base, headers={"Authorization": f"token {tokens['boss']}"}) as admin:
            history = admin.get("api/leases", params={"all": 1, "ended": 1}).json()["leases"]
        [steady] = [x for x in history if x["user"] == "bob"]
        assert steady["state"] == "released", steady
        assert counts.get("429", 0) > 0 and requests > 500  # alice was refused, not served at everyone's cost
        assert sum(1 for x in history if x["user"] == "alice") <= 50
        bob.close()


def test_a_restarted_service_keeps_its_leases_in_sqlite(tmp_path):
    first = arbiter_in_process(tmp_path / "leases.sqlite")
    lease = first.book.request("alice", "a/1", 1, 0, time.time())
    first.save()
    first.store.close()
    again = arbiter_in_process(tmp_path / "leases.sqlite")
    kept = again.book.leases[lease.id]
    assert (kept.state, kept.gpus, kept.secret) == (GRANTED, [0], lease.secret)
    assert kept.expires_at >= time.time() + again.lease_ttl - 5  # a full TTL for its job to renew
    assert (tmp_path / "leases.sqlite").stat().st_mode & 0o077 == 0  # it holds the lease secrets
    again.store.close()
