"""Checks of the scaled topology that tests/scale/run brings up: N api instances behind nginx,
PgBouncer in front of the primary and a streaming read replica. Python stdlib only; talks only
to the 127.0.0.1 ports it is given. Exit status 1 on the first failed check."""

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

NGINX = int(os.environ["SCALE_NGINX_PORT"])
API_PORTS = [int(p) for p in os.environ["SCALE_API_PORTS"].split()]
API_PIDS_FILE = os.environ["SCALE_API_PIDS"]  # "port pid" lines, rewritten on restart
RESTART = os.environ["SCALE_RESTART"]  # command that restarts the api on a given port
REPLICA_URL = os.environ["SCALE_REPLICA_URL"]
PRIMARY_URL = os.environ["SCALE_PRIMARY_URL"]


class Failure(Exception):
    pass


def request(port, method, path, body=None, headers=None, timeout=15):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    hdrs = {"content-type": "application/json", **(headers or {})}
    try:
        conn.request(method, path, body=None if body is None else json.dumps(body), headers=hdrs)
        resp = conn.getresponse()
        raw = resp.read()
        try:
            data = json.loads(raw) if raw else None
        except ValueError:
            data = raw.decode(errors="replace")
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        conn.close()


def expect(answer, status, what):
    if answer[0] != status:
        raise Failure(f"{what}: expected {status}, got {answer[0]}: {answer[2]}")
    return answer[2]


def psql(url, sql):
    return subprocess.run(["psql", url, "-qtAc", sql], check=True, capture_output=True,
                          text=True).stdout.strip()


def register(port=NGINX):
    email = f"scale-{uuid.uuid4().hex[:12]}@example.com"
    password = "scale-password-123"
    body = expect(request(port, "POST", "/api/auth/register", {
        "email": email, "password": password, "firstName": "Scale", "lastName": "Test"}),
        201, "register")
    return {"email": email, "password": password, "token": body["accessToken"],
            "id": body["user"]["id"]}


def auth(user):
    return {"authorization": f"Bearer {user['token']}"}


def check(name):
    def wrap(fn):
        def run():
            started = time.monotonic()
            fn()
            print(f"  ok  {name} ({time.monotonic() - started:.1f} s)", flush=True)
        run.__name__ = fn.__name__
        return run
    return wrap


@check("requests spread over every instance (X-Instance-Id)")
def spread():
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda _: request(NGINX, "GET", "/health/live"), range(120)))
    ids = {h.get("x-instance-id") for s, h, _ in answers if s == 200}
    if any(s != 200 for s, _, _ in answers) or len(ids) != len(API_PORTS):
        raise Failure(f"expected {len(API_PORTS)} instances answering, saw {ids}")


def campaign_with_donor():
    creator, donor = register(), register()
    deadline = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 30 * 86400))
    cid = expect(request(NGINX, "POST", "/api/campaigns", {
        "title": "Scale test campaign", "description": "Money that crosses api instances.",
        "goalAmount": 10**8, "currency": "USD", "category": "community",
        "fundingModel": "keep_it_all", "deadline": deadline}, auth(creator)), 201, "campaign")["id"]
    expect(request(NGINX, "POST", f"/api/campaigns/{cid}/publish", {}, auth(creator)), 200,
           "publish")
    expect(request(NGINX, "POST", "/api/wallet/deposits", {"amount": 10**6},
                   {**auth(donor), "idempotency-key": str(uuid.uuid4())}), 201, "deposit")
    return cid, donor


def donate(port, cid, donor, amount):
    expect(request(port, "POST", f"/api/donations/campaign/{cid}", {"amount": amount},
                   {**auth(donor), "idempotency-key": str(uuid.uuid4())}), 201, "donation")


def pid_of(port):
    for line in open(API_PIDS_FILE):
        p, pid = line.split()
        if int(p) == port:
            return int(pid)
    raise Failure(f"no pid for the api on {port}")


@check("kill -9 of one instance during a load of GETs through nginx loses none")
def kill_one_under_load():
    statuses, stop = [], threading.Event()

    def load():
        while not stop.is_set():
            statuses.append(request(NGINX, "GET", "/api/campaigns?limit=5")[0])

    threads = [threading.Thread(target=load) for _ in range(12)]
    for t in threads:
        t.start()
    time.sleep(2)
    victim = API_PORTS[0]
    os.kill(pid_of(victim), signal.SIGKILL)
    time.sleep(3)
    stop.set()
    for t in threads:
        t.join()
    subprocess.run([RESTART, str(victim)], check=True)
    bad = [s for s in statuses if s != 200]
    if bad or len(statuses) < 100:
        raise Failure(f"{len(bad)} of {len(statuses)} GETs failed: {sorted(set(bad))}")


@check("SSE viewers through nginx get totals when another instance takes the donations")
def sse_across_instances():
    cid, donor = campaign_with_donor()
    conn = http.client.HTTPConnection("127.0.0.1", NGINX, timeout=20)
    conn.request("GET", f"/api/campaigns/{cid}/events", headers={"accept": "text/event-stream"})
    resp = conn.getresponse()
    serving = resp.getheader("x-instance-id")
    if resp.status != 200 or not serving:
        raise Failure(f"events: {resp.status}, instance {serving}")
    other = next(p for p in API_PORTS
                 if request(p, "GET", "/health/live")[1].get("x-instance-id") != serving)
    donate(other, cid, donor, 4321)
    seen, deadline = b"", time.monotonic() + 15
    while b'"raisedAmount":4321' not in seen:
        if time.monotonic() > deadline:
            raise Failure(f"no total 4321 reached the viewer on {serving}: {seen[-300:]!r}")
        seen += resp.fp.read1(4096)
    conn.close()


@check("replica-routed reads are served while the primary takes writes")
def replica_reads_under_writes():
    db = PRIMARY_URL.rsplit("/", 1)[1]
    stat = f"select xact_commit from pg_stat_database where datname = '{db}'"
    before = int(psql(REPLICA_URL, stat))
    cid, donor = campaign_with_donor()
    errors = []

    def writes():
        for _ in range(40):
            try:
                donate(NGINX, cid, donor, 100)
            except Failure as e:
                errors.append(str(e))

    def reads():
        for _ in range(80):
            s = request(NGINX, "GET", f"/api/campaigns/{cid}/donations?limit=5")[0]
            if s != 200:
                errors.append(f"read {s}")

    threads = [threading.Thread(target=writes)] + [threading.Thread(target=reads) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise Failure(f"{len(errors)} failures, e.g. {errors[:3]}")
    # Backends publish their statistics when a transaction ends at most once a second, and an
    # idle one after 10 s, so the replica's count catches up shortly after the load stops.
    served = 0
    for _ in range(30):
        served = int(psql(REPLICA_URL, stat)) - before
        if served >= 240:
            break
        time.sleep(0.5)
    if served < 240:
        raise Failure(f"the replica committed only {served} transactions for 240 reads")
    if psql(REPLICA_URL, f"select count(*) from donations where campaign_id = '{cid}'") != "40":
        raise Failure("the replica did not catch up with the 40 donations")


def with_replay_paused(fn):
    psql(REPLICA_URL, "select pg_wal_replay_pause()")
    try:
        fn()
    finally:
        psql(REPLICA_URL, "select pg_wal_replay_resume()")


@check("a revoked API key stops working at once while the replica is paused")
def revoked_key_with_replica_paused():
    user = register()
    created = expect(request(NGINX, "POST", "/api/api-keys", {"name": "scale"}, auth(user)), 201,
                     "create key")
    key = {"x-api-key": created["key"]}
    time.sleep(1)  # the replica has the key before its replay is paused
    expect(request(NGINX, "GET", "/api/users/me", headers=key), 200, "key works")

    def revoke():
        expect(request(NGINX, "DELETE", f"/api/api-keys/{created['id']}", headers=auth(user)),
               204, "revoke")
        on_replica = psql(REPLICA_URL, f"select revoked_at is null from api_keys where id = '{created['id']}'")
        if on_replica != "t":
            raise Failure("the paused replica already shows the revocation: the check proves nothing")
        for port in API_PORTS:
            expect(request(port, "GET", "/api/users/me", headers=key), 401, f"revoked key on {port}")

    with_replay_paused(revoke)


@check("login after a password change uses the new password while the replica is paused")
def login_after_password_change():
    user = register()
    time.sleep(1)

    def change():
        expect(request(NGINX, "PATCH", "/api/users/me", {
            "currentPassword": user["password"], "newPassword": "a-new-password-456"}, auth(user)),
            200, "change password")
        for port in API_PORTS:
            expect(request(port, "POST", "/api/auth/login", {
                "email": user["email"], "password": user["password"]}), 401, f"old password on {port}")
            expect(request(port, "POST", "/api/auth/login", {
                "email": user["email"], "password": "a-new-password-456"}), 200, f"new password on {port}")

    with_replay_paused(change)


@check("/metrics is refused through nginx")
def metrics_private():
    status = request(NGINX, "GET", "/metrics")[0]
    if status != 404:
        raise Failure(f"/metrics through nginx answered {status}")


def main():
    checks = [spread, metrics_private, sse_across_instances, replica_reads_under_writes,
              revoked_key_with_replica_paused, login_after_password_change, kill_one_under_load]
    try:
        for c in checks:
            c()
    except Failure as e:
        print(f"FAIL {e}", flush=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
