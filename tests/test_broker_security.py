"""The production broker configuration, proven against a real Mosquitto."""

from __future__ import annotations

import stat
import time

import pytest

from mqtt import schema
from mqtt.client import BrokerConfig, ConnectError, MqttClient, TlsConfig
from mqtt.ids import utc_now
from mqtt.topics import Kind, device_topic
from tests.mqtt_helpers import Collector, central_config, client, clock_event


def test_anonymous_and_wrong_password_are_refused(hardened_broker):
    with pytest.raises(ConnectError, match=r"(?i)not authori[sz]ed"):
        client(hardened_broker.port, "anon").start(wait_s=3)
    with pytest.raises(ConnectError, match=r"(?i)not authori[sz]ed|bad user name or password"):
        client(hardened_broker.port, "st-01", "hall-01.st-01", "wrong").start(wait_s=3)


def test_device_cannot_publish_as_another_device(hardened_broker):
    b = hardened_broker
    seen = Collector()
    with client(b.port, "rules-1", "rules", b.password("rules"), on_message=seen) as rules:
        rules.subscribe("hallwatch/v1/#")
        with client(b.port, "st-01", "hall-01.st-01", b.password("hall-01.st-01")) as st01:
            forged = clock_event("hall-01", "st-02", 1, staff="S999")
            st01.publish(
                device_topic("hall-01", "st-02", Kind.CLOCK), schema.encode(forged)
            ).wait_for_publish(5)
            own = clock_event("hall-01", "st-01", 2)
            st01.publish_event(own).wait_for_publish(5)
        got = seen.wait_for(1)
    # The device's own punch (sent after the forged one) arrives; the forged one never does.
    assert [t for t, _ in got] == ["hallwatch/v1/hall-01/st-01/clock"]
    assert schema.decode(got[0][1]).id == own.id


def test_device_reads_only_its_own_config(hardened_broker):
    b = hardened_broker
    seen = Collector()
    with client(b.port, "rules-1", "rules", b.password("rules")) as rules:
        for device in ("st-02", "st-01"):
            cfg = central_config("hall-01", 1)
            rules.publish_event(cfg, device=device).wait_for_publish(5)
    with client(
        b.port, "st-01", "hall-01.st-01", b.password("hall-01.st-01"), on_message=seen
    ) as st01:
        for device in ("st-02", "st-01"):
            st01.subscribe(f"hallwatch/v1/hall-01/{device}/config")
        got = seen.wait_for(2, timeout_s=2)
    assert [t for t, _ in got] == ["hallwatch/v1/hall-01/st-01/config"]


def test_only_the_rules_account_writes_config(hardened_broker):
    """A device cannot push a timetable or gallery to itself or to another device."""
    b = hardened_broker
    seen = Collector()
    with client(b.port, "rules-1", "rules", b.password("rules"), on_message=seen) as rules:
        rules.subscribe("hallwatch/v1/hall-01/+/config")
        time.sleep(0.3)  # the subscription in place
        forgeries = [
            ("hall-01.st-01", "st-01"),
            ("hall-01.st-01", "st-02"),
            ("hall-01.ws-01", "st-01"),
        ]
        for user, device in forgeries:
            cfg = central_config("hall-01", 9)
            with client(b.port, f"forger-{user}", user, b.password(user)) as forger:
                forger.publish_event(cfg, device=device).wait_for_publish(5)
        got = seen.wait_for(1, timeout_s=2)
    assert got == []


def test_persistent_subscriber_receives_what_it_missed(hardened_broker):
    b = hardened_broker
    seen = Collector()
    rules = client(b.port, "rules-persistent", "rules", b.password("rules"), on_message=seen)
    rules.subscribe("hallwatch/v1/+/+/clock")
    rules.start()
    rules.stop()  # offline, but its session and subscription stay on the broker
    with client(b.port, "st-01", "hall-01.st-01", b.password("hall-01.st-01")) as st01:
        sent = [clock_event("hall-01", "st-01", seq) for seq in range(500)]
        infos = [st01.publish_event(e) for e in sent]
        for info in infos:
            info.wait_for_publish(10)
    back = client(b.port, "rules-persistent", "rules", b.password("rules"), on_message=seen).start()
    try:
        got = seen.wait_for(500, timeout_s=20)
    finally:
        back.stop()
    assert [schema.decode(p).id for _, p in got] == [e.id for e in sent]


def test_burst_of_20000_qos1_messages_arrives_whole(hardened_broker):
    b = hardened_broker
    seen = Collector()
    with client(b.port, "rules-burst", "rules", b.password("rules"), on_message=seen) as rules:
        rules.subscribe("hallwatch/v1/hall-01/st-01/clock")
        with client(
            b.port,
            "st-01",
            "hall-01.st-01",
            b.password("hall-01.st-01"),
            max_inflight=1000,
            max_queued=0,
        ) as st01:
            payloads = [
                schema.encode(clock_event("hall-01", "st-01", seq)) for seq in range(20_000)
            ]
            topic = device_topic("hall-01", "st-01", Kind.CLOCK)
            infos = [st01.publish(topic, p) for p in payloads]
            for info in infos:
                info.wait_for_publish(60)
        got = seen.wait_for(20_000, timeout_s=60)
    seqs = [schema.decode(p).seq for _, p in got]
    assert len(seqs) == 20_000
    assert sorted(seqs) == list(range(20_000))


def _over_tls(b, port: int, user: str, **overrides) -> BrokerConfig:
    """`user`'s account on one of the broker's TLS listeners, trusting the test CA."""
    return BrokerConfig(
        port=port,
        host="localhost",
        username=user,
        password=b.password(user),
        tls=TlsConfig(ca_file=b.deployment.listeners.ca_file),
        **overrides,
    )


def test_tls_listener_needs_the_ca(hardened_broker):
    b = hardened_broker
    secure = _over_tls(b, b.deployment.listeners.tls_port, "hall-01.st-01")
    with MqttClient(secure, "st-01-tls") as c:
        assert c.connected.is_set()
    plain = secure.model_copy(update={"tls": None})
    with pytest.raises(ConnectError):
        MqttClient(plain, "st-01-plain").start(wait_s=3)


def test_websockets_listener_serves_browser_clients(hardened_broker):
    b = hardened_broker
    ws = _over_tls(b, b.deployment.listeners.websockets_port, "viewer", transport="websockets")
    seen = Collector()
    with MqttClient(ws, "viewer-ws", on_message=seen) as viewer:
        viewer.subscribe("hallwatch/v1/+/+/clock")
        with client(b.port, "st-01", "hall-01.st-01", b.password("hall-01.st-01")) as st01:
            import time

            time.sleep(0.3)  # let the subscription settle before publishing
            st01.publish_event(clock_event("hall-01", "st-01", 1)).wait_for_publish(5)
        assert len(seen.wait_for(1)) == 1


def test_an_agent_cannot_punch(hardened_broker):
    status = schema.new_event(
        schema.Status, "hall-01", "ws-01", utc_now(), seq=2, state="online", role="agent"
    )
    sends = [("hall-01.ws-01", [clock_event("hall-01", "ws-01", 1), status])]
    assert _what_rules_receives(hardened_broker, sends) == [2]  # the status, not the punch


def test_committed_broker_files_match_the_example_deployment():
    from mqtt.broker import load_deployment, render_access, render_conf
    from tests.conftest import REPO

    folder = REPO / "systemd" / "mosquitto"
    deployment = load_deployment(folder / "deployment.example.toml")
    assert (folder / "hallwatch.conf").read_text() == render_conf(deployment)
    assert (folder / "dynamic-security.example.json").read_text() == render_access(deployment, {})


def _violation(device: str) -> schema.Violation:
    return schema.new_event(
        schema.Violation,
        "hall-01",
        device,
        utc_now(),
        seq=1,
        violation_id="v-forged",
        staff_id="S002",
        rule="late",
        day=utc_now().date(),
        severity=schema.Severity.SERIOUS,
        deduction=100,
    )


def test_a_device_reads_no_one_elses_events_and_cannot_forge_results(hardened_broker):
    b = hardened_broker
    rules_seen, spy_seen = Collector(), Collector()
    with (
        client(b.port, "rules-1", "rules", b.password("rules"), on_message=rules_seen) as rules,
        client(
            b.port, "st-01", "hall-01.st-01", b.password("hall-01.st-01"), on_message=spy_seen
        ) as st01,
    ):
        rules.subscribe("hallwatch/v1/#")
        st01.subscribe("hallwatch/v1/#")  # granted by nobody: the broker delivers nothing
        with client(b.port, "st-02", "hall-01.st-02", b.password("hall-01.st-02")) as st02:
            import time

            time.sleep(0.3)
            st01.publish_event(_violation("central")).wait_for_publish(5)  # a forged result
            st02.publish_event(clock_event("hall-01", "st-02", 1)).wait_for_publish(5)
        got = rules_seen.wait_for(1)
    assert [t for t, _ in got] == ["hallwatch/v1/hall-01/st-02/clock"]
    assert spy_seen.messages == []


def _what_rules_receives(b, sends: list[tuple[str, list[schema.Event]]]) -> list[int]:
    """Publish each account's events in turn (the last one allowed); the seqs rules got."""
    seen = Collector()
    with client(b.port, "rules-1", "rules", b.password("rules"), on_message=seen) as rules:
        rules.subscribe("hallwatch/v1/#")
        for user, events in sends:
            with client(b.port, f"as-{user}", user, b.password(user)) as sender:
                for event in events:
                    sender.publish_event(event).wait_for_publish(5)
        got = seen.wait_for(1)
    return [schema.decode(p).seq for _, p in got]


def test_the_viewer_account_can_only_watch(hardened_broker):
    sends = [
        ("viewer", [clock_event("hall-01", "st-01", 1), _violation("central")]),
        ("hall-01.st-01", [clock_event("hall-01", "st-01", 2)]),
    ]
    assert _what_rules_receives(hardened_broker, sends) == [2]  # only the station's punch


def _connects(b, user: str, password: str) -> bool:
    try:
        client(b.port, f"probe-{user}", user, password).start(wait_s=3).stop()
    except ConnectError:
        return False
    return True


def test_rerunning_setup_after_the_credentials_were_deleted_locks_no_one_out(tmp_path, test_ca):
    import shutil

    from mqtt.broker import Deployment, DeviceAccount, setup
    from tests.support.mosquitto import Mosquitto, free_port

    listeners = test_ca.model_copy(
        update={"local_port": free_port(), "tls_port": free_port(), "websockets_port": None}
    )
    station = DeviceAccount(site="hall-01", id="st-01")
    b = Mosquitto(Deployment(listeners=listeners, devices=[station]), tmp_path / "broker")
    issued = b.password("hall-01.st-01")
    shutil.rmtree(b.credentials)  # copied to the device and deleted, as the guide says
    grown = b.deployment.model_copy(
        update={"devices": [station, DeviceAccount(site="hall-01", id="st-02")]}
    )
    done = setup(grown, grown.conf_dir, b.credentials)
    assert sorted(p.name for p in b.credentials.iterdir()) == ["hall-01.st-02.toml"]
    assert list(done.written) == ["conf", "access", "new hall-01.st-02"]
    assert done.warnings == []
    with b:
        assert _connects(b, "hall-01.st-01", issued)
        assert _connects(b, "hall-01.st-02", b.password("hall-01.st-02"))
        assert not _connects(b, "hall-01.st-01", "guessed")


def test_setup_keeps_the_passwords_of_an_earlier_password_file(tmp_path, test_ca):
    import subprocess

    from mqtt.broker import Deployment, DeviceAccount
    from tests.support.mosquitto import Mosquitto, free_port

    listeners = test_ca.model_copy(
        update={"local_port": free_port(), "tls_port": free_port(), "websockets_port": None}
    )
    conf_dir = tmp_path / "broker" / "conf"
    conf_dir.mkdir(parents=True)
    (conf_dir / "passwd").write_text("hall-01.st-01:from-the-old-layout\n")
    subprocess.run(["mosquitto_passwd", "-U", str(conf_dir / "passwd")], check=True)
    deployment = Deployment(
        listeners=listeners, devices=[DeviceAccount(site="hall-01", id="st-01")]
    )
    with Mosquitto(deployment, tmp_path / "broker") as b:
        assert _connects(b, "hall-01.st-01", "from-the-old-layout")
        assert not (b.credentials / "hall-01.st-01.toml").exists()


def test_setup_makes_the_data_directory_and_names_its_files_where_it_wrote_them(tmp_path, test_ca):
    """Persistence on from the first start, even when the files are rendered elsewhere
    than the deployment's conf_dir (to be copied, or by mistake): the operator is told."""
    import getpass
    import os
    import subprocess

    from click.testing import CliRunner

    from hallwatch.cli import main
    from tests.support.mosquitto import free_port, wait_for_port

    port, tls_port, ws_port = free_port(), free_port(), free_port()
    lst = test_ca
    deployment = tmp_path / "deployment.toml"
    deployment.write_text(
        f"""conf_dir = "/etc/mosquitto/hallwatch-elsewhere"
data_dir = "{tmp_path / "var" / "mosquitto"}"
run_as = "{getpass.getuser()}"
[listeners]
local_port = {port}
tls_port = {tls_port}
tls_address = "127.0.0.1"
websockets_port = {ws_port}
websockets_address = "127.0.0.1"
ca_file = "{lst.ca_file}"
cert_file = "{lst.cert_file}"
key_file = "{lst.key_file}"
"""
    )
    out = tmp_path / "rendered"
    answer = CliRunner().invoke(
        main,
        ["broker", "setup", str(deployment), "--out", str(out),
         "--credentials", str(tmp_path / "credentials")],
    )  # fmt: skip
    assert answer.exit_code == 0, answer.output
    assert "conf_dir is /etc/mosquitto/hallwatch-elsewhere" in answer.stderr
    conf = (out / "mosquitto.conf").read_text()
    assert f"plugin_opt_config_file {out.resolve() / 'dynamic-security.json'}" in conf
    assert f"\nlistener {tls_port} 127.0.0.1\n" in conf
    assert f"\nlistener {ws_port} 127.0.0.1\nprotocol websockets\n" in conf
    version = subprocess.run(["mosquitto", "-h"], capture_output=True, text=True).stdout
    if "version 2.0.11" in version:  # Debian 12's: it would listen everywhere, and says so
        assert f"firewall port {ws_port}" in answer.stderr
    data_dir = tmp_path / "var" / "mosquitto"
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert data_dir.stat().st_uid == os.geteuid()

    broker = subprocess.Popen(["mosquitto", "-c", str(out / "mosquitto.conf")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    try:
        wait_for_port(port)
        wait_for_port(tls_port)
    finally:
        broker.terminate()
        broker.wait(10)
    assert (data_dir / "mosquitto.db").is_file()  # persistence was on, saved on the way out


def test_setup_gives_the_data_directory_to_the_user_the_broker_runs_as(tmp_path):
    import os
    import pwd

    from mqtt.broker import Deployment, setup

    data_dir = tmp_path / "data"
    deployment = Deployment(conf_dir=tmp_path / "conf", data_dir=data_dir, run_as="mosquitto")
    done = setup(deployment, tmp_path / "conf", tmp_path / "credentials")
    if os.geteuid() == 0:
        assert done.warnings == []
        assert data_dir.stat().st_uid == pwd.getpwnam("mosquitto").pw_uid
    else:  # only root may give it away: the operator is told how
        assert done.warnings == [
            f"{data_dir} is not owned by mosquitto (run_as): as root, run `chown mosquitto: "
            f"{data_dir}`, or Mosquitto cannot save its persistence file"
        ]
    nobody = deployment.model_copy(update={"run_as": "no-such-user"})
    assert setup(nobody, tmp_path / "conf", tmp_path / "credentials").warnings == [
        f"{data_dir}: no system user 'no-such-user' (run_as) to own it on this host"
    ]


def test_credentials_are_never_written_into_the_brokers_directory(tmp_path):
    from base.config import ConfigError
    from mqtt.broker import Deployment, setup

    with pytest.raises(ConfigError, match="outside the broker's directory"):
        setup(Deployment(), tmp_path / "conf", tmp_path / "conf" / "credentials")
    assert not (tmp_path / "conf").exists()
