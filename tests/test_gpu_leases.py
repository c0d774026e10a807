"""The GPU arbiter's policy (jupyter_trio.hub.leases), on its own: no Hub, no clock but the one given."""

from __future__ import annotations

import random

import pytest

from jupyter_trio.hub.leases import EXPIRED, GRANTED, RELEASED, LeaseBook, LeaseRefused, Policy


def book(gpus=(0, 1), **policy) -> LeaseBook:
    return LeaseBook(list(gpus), Policy(**policy))


def test_grants_free_gpus_and_never_one_twice():
    b = book()
    first = b.request("alice", "a/1", 1, 0, now=0)
    second = b.request("bob", "b/1", 1, 0, now=0)
    third = b.request("carol", "c/1", 1, 0, now=0)
    assert (first.state, first.gpus) == (GRANTED, [0])
    assert (second.state, second.gpus) == (GRANTED, [1])
    assert third.state == "queued" and b.queue_position(third, 0) == 1
    b.end(first, RELEASED, now=5)
    assert (third.state, third.gpus) == (GRANTED, [0])


def test_the_same_job_asking_again_gets_its_lease():
    b = book()
    lease = b.request("alice", "a/1", 1, 0, now=0)
    assert b.request("alice", "a/1", 1, 0, now=1) is lease
    assert b.request("bob", "a/1", 1, 0, now=1) is not lease  # the job key is per user


def test_fair_share_fewest_recent_gpu_hours_first_then_priority():
    b = book(gpus=(0,))
    heavy = b.request("alice", "a/1", 1, 0, now=0)
    b.end(heavy, RELEASED, now=3600)  # alice used one GPU-hour
    holder = b.request("carol", "c/1", 1, 0, now=3600)
    a_low = b.request("alice", "a/2", 1, 0, now=3601)
    a_high = b.request("alice", "a/3", 1, 9, now=3602)
    bob = b.request("bob", "b/1", 1, 0, now=3603)
    b.end(holder, RELEASED, now=3610)
    assert bob.state == GRANTED  # carol used 10 s, bob nothing, alice an hour: bob first
    b.end(bob, RELEASED, now=3620)
    assert a_high.state == GRANTED and a_low.state == "queued"  # within alice: priority


def test_quotas_refuse_with_a_reason():
    b = book(gpus=(0, 1, 2), max_gpus_per_user=2, max_queued_per_user=1)
    with pytest.raises(LeaseRefused) as err:
        b.request("alice", "a/1", 3, 0, now=0)
    assert err.value.status == 403 and "quota is 2" in err.value.message
    with pytest.raises(LeaseRefused) as err:
        b.request("alice", "a/1", 4, 0, now=0)
    assert err.value.status == 422
    b.request("alice", "a/1", 2, 0, now=0)
    waiting = b.request("alice", "a/2", 1, 0, now=0)  # alice holds 2: at her quota, so it waits
    assert waiting.state == "queued"
    with pytest.raises(LeaseRefused) as err:
        b.request("alice", "a/3", 1, 0, now=0)
    assert err.value.status == 429
    assert b.request("bob", "b/1", 1, 0, now=0).gpus == [2]  # the free GPU goes to someone within quota


def test_a_lease_not_renewed_expires_and_frees_its_gpu():
    b = book(gpus=(0,), ttl=30)
    lease = b.request("alice", "a/1", 1, 0, now=0)
    waiting = b.request("bob", "b/1", 1, 0, now=0)
    b.renew(lease, now=20)
    assert b.expire(now=45) == []  # renewed at 20: good until 50
    assert b.expire(now=51) == [lease] and lease.state == EXPIRED
    assert waiting.state == GRANTED
    with pytest.raises(LeaseRefused) as err:
        b.renew(lease, now=52)
    assert err.value.status == 410


def test_random_traffic_keeps_the_invariants():
    rng = random.Random(7)
    b = book(gpus=(0, 1, 2), max_gpus_per_user=2, ttl=30)
    now = 0.0
    for step in range(2000):
        now += rng.random() * 5
        action = rng.random()
        users = ["alice", "bob", "carol"]
        if action < 0.4:
            try:
                b.request(rng.choice(users), f"job{step}", rng.choice([1, 1, 2]), rng.randint(0, 3), now)
            except LeaseRefused:
                pass
        elif action < 0.7:
            live = [x for x in b.leases.values() if x.state == GRANTED]
            if live:
                b.end(rng.choice(live), RELEASED, now)
        elif action < 0.9:
            for x in b.leases.values():
                if x.state == GRANTED and rng.random() < 0.8:
                    b.renew(x, now)
        else:
            b.expire(now)
        held = [g for x in b.leases.values() if x.state == GRANTED for g in x.gpus]
        assert len(held) == len(set(held)) and set(held) <= {0, 1, 2}
        per_user: dict[str, int] = {}
        for x in b.leases.values():
            if x.state == GRANTED:
                per_user[x.user] = per_user.get(x.user, 0) + len(x.gpus)
        assert all(v <= 2 for v in per_user.values())


def test_users_without_history_share_the_free_gpus():
    b = book(gpus=(0, 1))
    b.request("holder", "h/1", 2, 0, now=0)
    first = b.request("bob", "b/1", 1, 0, now=1)
    second = b.request("bob", "b/2", 1, 0, now=2)
    carol = b.request("carol", "c/1", 1, 0, now=3)
    b.end(b.by_job("holder", "h/1"), RELEASED, now=4)
    assert first.state == GRANTED and carol.state == GRANTED and second.state == "queued"  # not FIFO


def test_a_restarted_arbiter_keeps_held_leases_until_their_jobs_renew():
    b = book(gpus=(0,), ttl=30)
    lease = b.request("alice", "a/1", 1, 0, now=0)
    b.renew(lease, now=100)  # renewals are not saved: the file still says it expires at 30
    saved = b.to_json()
    saved["leases"][0]["expires_at"] = 30
    again = book(gpus=(0,), ttl=30)
    again.load_json(saved)
    again.extend_granted(now=200)
    assert again.expire(now=201) == [] and again.leases[lease.id].state == GRANTED
    assert again.request("bob", "b/1", 1, 0, now=202).state == "queued"  # GPU 0 is still alice's


def test_priority_orders_only_the_users_own_requests():
    b = book(gpus=(0,))
    holder = b.request("carol", "c/1", 1, 0, now=0)
    bob = b.request("bob", "b/1", 1, 0, now=1)
    alice_urgent = b.request("alice", "a/1", 1, 99, now=2)
    b.end(holder, RELEASED, now=3)
    assert bob.state == GRANTED and alice_urgent.state == "queued"  # priority 99 does not jump bob


def test_a_waiting_request_nobody_asks_about_is_dropped():
    b = book(gpus=(0,), ttl=30)
    held = b.request("alice", "a/1", 1, 0, now=0)
    asked = b.request("bob", "b/1", 1, 0, now=0)
    forgotten = b.request("carol", "c/1", 1, 0, now=0)
    asked.seen_at = 140
    b.renew(held, now=150)
    assert b.expire(now=160) == [forgotten] and forgotten.message == "its server stopped asking for it"
    assert asked.state == "queued"
