"""The SMS benchmark: a campaign to 100,000 members queued and handed to the gateway.

A hub is migrated (`python -m hub migrate`) on the server of `HUB_TEST_DATABASE_URL` or a
durable cluster of the benchmark's own (bench/hub_setup.py), and given 100,000 consenting
members in SQL (`--quick`: 10,000; `--smoke`: 200), half Persian, half English. The
simulated gateway (sim/sms_gateway.py, Kavenegar's API) listens on loopback in this
process. Then, each in a process of its own, so that each one's memory is its own:

- the campaign is queued: hub/messaging/campaigns.py's `queue_campaign()` through Django
  (`sms_queue_per_s`, messages queued a second; `sms_queue_peak_rss`);
- `python -m hub messages work --batch 200` hands them to the gateway, from its start until
  the gateway has taken the last (`sms_send_per_s`; its memory sampled every 0.25 s,
  `sms_worker_peak_rss`), then SIGTERM;
- the reference: the same requests (the same form, the same texts, one keep-alive session)
  posted with bare `requests` in a loop, no database, no outbox.

Every message must reach the gateway once: a shortfall or a duplicate is in the note.
Without PostgreSQL the benchmark says so on stderr and prints nothing.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg

from bench.common import Scale, progress, report
from bench.hub_setup import ROOT, Hub, Postgres, Unavailable, rss_mib
from sim.sms_gateway import SmsGateway

MEMBERS = {"full": 100_000, "quick": 10_000, "smoke": 200}
WAIT = 3600.0  # a safety limit, never a pace
TEXT = "۲۰٪ تخفیف همهٔ نوشیدنی‌ها تا جمعه / 20% off every drink until Friday"

_QUEUE = """
import json, os, time, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")
os.environ["HUB_DB_POOL_MAX"] = "0"
django.setup()
from bench.common import peak_rss_mb
from hub.members.models import Member
from hub.messaging.campaigns import queue_campaign
ids = list(Member.objects.order_by("member_id").values_list("member_id", flat=True))
start = time.perf_counter()
queued = queue_campaign(ids, name="bench", values={"text": %r})
seconds = time.perf_counter() - start
print(json.dumps({"queued": queued, "seconds": seconds, "peak_rss": peak_rss_mb()}))
"""

_REFERENCE = """
import json, sys, time, psycopg, requests
from bench.common import peak_rss_mb
url, key, database = sys.argv[1:4]
with psycopg.connect(database) as conn:
    rows = conn.execute("SELECT id, phone, body FROM hub_message ORDER BY id").fetchall()
session = requests.Session()
session.trust_env = False
start = time.perf_counter()
for number, phone, body in rows:
    form = {"receptor": phone.lstrip("+"), "sender": "10004346", "message": body,
            "localid": f"ref-{number}"}
    answer = session.post(f"{url}/v1/{key}/sms/send.json", data=form, timeout=30)
    answer.raise_for_status()
    answer.json()
seconds = time.perf_counter() - start
print(json.dumps({"sent": len(rows), "seconds": seconds, "peak_rss": peak_rss_mb()}))
"""


def main(scale: Scale) -> int:
    """Run the benchmark at `scale`; 0 (figures are read, not judged here)."""
    try:
        postgres = Postgres.start()
    except Unavailable as exc:
        progress(f"sms: skipped: {exc}")
        return 0
    try:
        with tempfile.TemporaryDirectory() as folder, SmsGateway() as gateway:
            _run(scale, postgres, Path(folder), gateway)
    finally:
        postgres.close()
    return 0


def _run(scale: Scale, postgres: Postgres, folder: Path, gateway: SmsGateway) -> None:
    count = MEMBERS[scale]
    progress(f"sms: a hub with {count:,} members")
    hub = Hub(postgres, folder / "hub")
    database = postgres.url(hub.database)
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO hub_member (member_id, status, created_at, updated_at, received_at,"
            " phone, name, language, consent_marketing, consent_version, consent_at)"
            " SELECT 'm' || lpad(i::text, 7, '0'), 'active', now(), now(), now(),"
            " '+98912' || lpad(i::text, 7, '0'), 'Member ' || i,"
            " CASE WHEN i %% 2 = 0 THEN 'fa' ELSE 'en' END, true, 'v1', now() - interval '1 day'"
            " FROM generate_series(1, %s) AS i",
            (count,),
        )
        # No quiet hours and no budget in the way: the benchmark runs at any hour.
        conn.execute(
            "INSERT INTO hub_message_policy (id, time_zone, quiet_start, quiet_end, cap_count,"
            " cap_days, daily_budget, price_ucs2, price_gsm, shop_name) VALUES (1,"
            " 'Asia/Tehran', '00:00', '00:00', 100, 7, 1000000000000, 1100, 2400, 'Bench Café')"
        )
    key_file = folder / "sms.key"
    key_file.write_text(gateway.key, encoding="ascii")
    key_file.chmod(0o600)

    progress("sms: queuing the campaign")
    queued = _child(hub, [sys.executable, "-c", _QUEUE % TEXT])
    report(
        "sms_queue_per_s",
        queued["queued"] / queued["seconds"],
        "messages/s",
        0,
        note=f"{queued['queued']:,} messages queued in {queued['seconds']:.1f} s; no reference",
    )

    progress("sms: the worker hands them to the gateway")
    setting = gateway.setting("kavenegar", str(key_file))
    started = time.perf_counter()
    worker = subprocess.Popen(
        [sys.executable, "-m", "hub", "messages", "work", "--batch", "200", "--idle", "0.5"],
        env=hub.env | {"HUB_SMS_GATEWAY": setting},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak = [0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.25):
            rss = rss_mib(worker.pid)
            if rss is not None:
                peak[0] = max(peak[0], rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    finished = gateway.wait_for(int(queued["queued"]), WAIT)
    seconds = time.perf_counter() - started
    done.set()
    worker.send_signal(signal.SIGTERM)
    _, errors = worker.communicate(timeout=WAIT)
    with psycopg.connect(database) as conn:
        states: dict[str, int] = dict(
            conn.execute("SELECT state, count(*) FROM hub_message GROUP BY 1").fetchall()
        )
    twice = sum(1 for n in gateway.sent_by_local_id.values() if n > 1)
    hub_sent = len(gateway.sent_by_local_id)

    progress("sms: the reference posts the same requests with bare requests")
    reference = _child(
        hub,
        [sys.executable, "-c", _REFERENCE, f"http://{gateway.address}", gateway.key, database],
    )
    note = (
        f"{hub_sent:,} of {queued['queued']:,} taken by the gateway, {twice} twice; "
        f"states {states}; time from the worker's start (Django's set-up included)"
    )
    if not finished:
        note += "; the worker did not finish: " + errors.strip()[-300:]
    report(
        "sms_send_per_s",
        hub_sent / seconds,
        "messages/s",
        reference["sent"] / reference["seconds"],
        aim="ratio >= 0.5",
        note=note,
    )
    report(
        "sms_worker_peak_rss",
        peak[0],
        "MiB",
        reference["peak_rss"],
        note="hub messages work (sampled every 0.25 s) against the bare requests loop",
    )
    report("sms_queue_peak_rss", queued["peak_rss"], "MiB", reference["peak_rss"])


def _child(hub: Hub, command: list[str]) -> dict[str, float]:
    done = subprocess.run(
        command, env=hub.env, cwd=ROOT, capture_output=True, text=True, timeout=WAIT, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench sms: a step failed: {done.stderr.strip()[-2000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result
