"""The MQTT client every hallwatch component uses: paho-mqtt 2.x with safe defaults.

QoS 1 everywhere, persistent sessions, a retained status with a last will, reconnect with
exponential backoff, a bounded in-flight window and offline queue, TLS and credentials.
Works with Mosquitto and with MQTT 3.1.1 brokers generally (the demo's embedded broker).
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import paho.mqtt.client as paho
import pydantic
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from base.config import Section
from base.errors import HallwatchError
from base.lifecycle import StartStop
from base.printable import printable
from mqtt import schema, topics
from mqtt.ids import BOOT_ID, utc_now

log = logging.getLogger(__name__)

MessageHandler = Callable[[str, bytes], None]
# Called with (topic, payload, ack): the broker redelivers the message until `ack()`.
AckedHandler = Callable[[str, bytes, Callable[[], None]], None]
# Called with True when the broker accepts the connection, False when it is lost.
ConnectionHandler = Callable[[bool], None]
# Called once per other process found sending under this client's id, with its boot id
# (None: the broker said "session taken over" before its status was seen).
TwinHandler = Callable[[str | None], None]
# MQTT 5's reason when another connection took this client id over.
SESSION_TAKEN_OVER = 0x8E


@dataclass(frozen=True, slots=True)
class Received:
    """A message as a viewer needs it: `retained` is true for a message the broker kept
    and handed over on subscribing (it happened before), false for one passed on live."""

    topic: str
    payload: bytes
    retained: bool


ReceivedHandler = Callable[[Received], None]


class TlsConfig(Section):
    """TLS to the broker (`[broker.tls]`): its presence turns TLS on."""

    ca_file: Path = pydantic.Field(
        description="The CA certificate that signed the broker's certificate (PEM)."
    )
    cert_file: Path | None = pydantic.Field(
        None,
        description=(
            "This client's own certificate (PEM), for a broker that requires client "
            "certificates. Unset: the user name and password identify the client."
        ),
    )
    key_file: Path | None = pydantic.Field(
        None, description="The private key of `cert_file` (PEM); keep it 0600."
    )


class BrokerConfig(Section):
    """Where and how to reach the broker (the `[broker]` table of every config file)."""

    host: str = pydantic.Field("127.0.0.1", description="The broker's host name or address.")
    port: Annotated[int, pydantic.Field(ge=1, le=65535)] = pydantic.Field(
        1883,
        description=(
            "The broker's port: 1883 is the plain local listener, 8883 the TLS one devices use."
        ),
    )
    transport: Literal["tcp", "websockets"] = pydantic.Field(
        "tcp", description="MQTT over plain TCP, or over websockets."
    )
    protocol: Literal["3.1.1", "5"] = pydantic.Field(
        "3.1.1",
        description=(
            "The MQTT protocol version. 3.1.1 works with every broker (also the demo's "
            "embedded one); 5 with Mosquitto."
        ),
    )
    username: str | None = pydantic.Field(
        None,
        description=(
            "The account to log in as: site.device for a device (from `hallwatch broker "
            "setup`'s credentials file). Unset: anonymous, which the production broker refuses."
        ),
    )
    password: pydantic.SecretStr | None = pydantic.Field(
        None,
        description=(
            "That account's password. Keep the file readable by its service user only; "
            "errors never show it."
        ),
    )
    password_file: Path | None = pydantic.Field(
        None,
        description=(
            "The password in a file of its own, e.g. the one systemd's LoadCredential= gives a "
            "unit (/run/credentials/<unit>/<name>); read when the client is made."
        ),
    )
    tls: TlsConfig | Literal[False] | None = pydantic.Field(
        None,
        description=(
            "Connect with TLS. Required for any host but this one; `false` says plaintext on "
            "purpose (a password would cross the network readable)."
        ),
    )
    keepalive_s: Annotated[int, pydantic.Field(ge=5, le=3600)] = pydantic.Field(
        30,
        description=(
            "Seconds between keep-alive pings. The broker takes a client silent for 1.5 times "
            "this as gone and publishes its last will (status offline)."
        ),
    )
    persistent_session: bool = pydantic.Field(
        True,
        description=(
            "Ask the broker to keep this client's subscriptions and queue its QoS 1 messages "
            "while it is away, so nothing sent meanwhile is lost."
        ),
    )
    max_inflight: Annotated[int, pydantic.Field(ge=1, le=65535)] = pydantic.Field(
        20, description="QoS 1 messages sent and not yet acknowledged by the broker, at most."
    )
    max_queued: Annotated[int, pydantic.Field(ge=0)] = pydantic.Field(
        10_000,
        description=(
            "Messages held in memory while the broker is unreachable; beyond this a publish "
            "is refused (devices keep everything in their journal regardless). 0: no bound."
        ),
    )
    reconnect_min_s: Annotated[float, pydantic.Field(gt=0)] = pydantic.Field(
        1.0,
        description=(
            "First wait before reconnecting, in seconds; it doubles after each failure "
            "(rounded to whole seconds)."
        ),
    )
    reconnect_max_s: Annotated[float, pydantic.Field(gt=0)] = pydantic.Field(
        60.0, description="Longest wait between reconnection attempts, in seconds."
    )

    @pydantic.model_validator(mode="after")
    def _tls_beyond_this_host(self) -> BrokerConfig:
        if self.password is not None and self.password_file is not None:
            raise ValueError("give password or password_file, not both")
        if self.tls is None and not _loopback(self.host):
            raise ValueError(
                f"broker {printable(self.host)} is not on this host: give a [broker.tls] table "
                "(ca_file), or tls = false to send the password and every message in plaintext"
            )
        return self

    def secret(self) -> str | None:
        """The password, from the file if it is in one."""
        if self.password_file is None:
            return self.password.get_secret_value() if self.password else None
        try:
            return self.password_file.read_text(encoding="utf-8").rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or exc
            raise ConnectError(
                f"cannot read the MQTT password file {self.password_file}: {reason}"
            ) from None


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it is elsewhere until proven otherwise


def twin_message(site: str, device: str, boot: str | None) -> str:
    """The alert a device raises when another one runs under its id."""
    other = f"boot {boot}" if boot else "the broker said the session was taken over"
    return (
        f"another device runs as {site}/{device} ({other}); this one is boot {BOOT_ID}: "
        "the two take the connection from each other, give each its own device id"
    )


class ConnectError(HallwatchError, ConnectionError):
    """The broker could not be reached, or refused us (the reason says which)."""


def topic_for(event: schema.Event, device: str | None = None) -> str:
    """The topic an event belongs on; `device` is the target of a config or command."""
    kind = schema.kind_of(event)
    if kind in topics.CENTRAL_KINDS:
        return topics.central_topic(event.site, kind)
    if kind in topics.TO_DEVICE_KINDS:
        if device is None:
            raise ValueError(f"a {kind} message needs its target device")
        return topics.device_topic(event.site, device, kind)
    return topics.device_topic(event.site, event.device, kind)


class MqttClient(StartStop):
    """A connected paho client with hallwatch's defaults.

    Subscriptions are remembered and renewed on every reconnect, so a broker that lost
    the session (restarted without persistence) still delivers to us.
    """

    def __init__(
        self,
        config: BrokerConfig,
        client_id: str,
        *,
        will: schema.Status | None = None,
        on_message: MessageHandler | None = None,
        on_delivery: AckedHandler | None = None,
        on_received: ReceivedHandler | None = None,
        on_connection: ConnectionHandler | None = None,
        on_twin: TwinHandler | None = None,
    ) -> None:
        """`on_delivery` instead of `on_message`: acknowledge each message explicitly, once
        it is safe (stored), so a process killed before that gets it again on reconnect.
        `on_received` instead: each message with whether the broker had retained it.
        `on_connection` hears every connection made and lost (the broker going away).
        `on_twin` (with a `will`): watch this device's own status topic for another
        process sending under the same id (another device configured with this one's
        id); when one shows, reconnect slowly and say so once per such process."""
        self.config = config
        self.client_id = client_id
        self.on_message = on_message
        self.on_delivery = on_delivery
        self.on_received = on_received
        self.on_connection = on_connection
        self.on_twin = on_twin
        self.connected = threading.Event()
        # Another process uses this client id: it kicks us off and we kick it off.
        self.taken_over = threading.Event()
        self.last_error: str | None = None
        self._started = utc_now()
        self._twins: set[str | None] = set()
        self._own_status = topic_for(will) if will is not None and on_twin else None
        self._subscriptions: dict[str, int] = {}
        self._lock = threading.Lock()
        v5 = config.protocol == "5"
        self._paho = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=None if v5 else not config.persistent_session,
            protocol=MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311,
            transport=config.transport,
            reconnect_on_failure=True,
        )
        if config.username is not None:
            self._paho.username_pw_set(config.username, config.secret())
        if isinstance(config.tls, TlsConfig):
            tls = config.tls
            self._paho.tls_set(
                ca_certs=str(tls.ca_file),
                certfile=str(tls.cert_file) if tls.cert_file else None,
                keyfile=str(tls.key_file) if tls.key_file else None,
            )
        if will is not None:
            self._paho.will_set(topic_for(will), schema.encode(will), qos=1, retain=True)
        self._paho.max_inflight_messages_set(config.max_inflight)
        self._paho.max_queued_messages_set(config.max_queued)
        self._paho.reconnect_delay_set(
            min_delay=max(1, round(config.reconnect_min_s)),
            max_delay=max(1, round(config.reconnect_max_s)),
        )
        self._paho.on_connect = self._on_connect
        self._paho.on_disconnect = self._on_disconnect
        self._paho.on_message = self._on_message
        self._paho.manual_ack_set(on_delivery is not None)
        if self._own_status is not None:
            self.subscribe(self._own_status)

    # -- lifecycle -------------------------------------------------------------------
    def start(self, wait_s: float | None = 10.0) -> MqttClient:
        """Connect in the background; with `wait_s`, wait for the broker to accept us."""
        properties = None
        if self.config.protocol == "5" and self.config.persistent_session:
            from paho.mqtt.packettypes import PacketTypes
            from paho.mqtt.properties import Properties

            properties = Properties(PacketTypes.CONNECT)
            properties.SessionExpiryInterval = 7 * 86400
        self._paho.connect_async(
            self.config.host,
            self.config.port,
            keepalive=self.config.keepalive_s,
            clean_start=(
                not self.config.persistent_session
                if self.config.protocol == "5"
                else paho.MQTT_CLEAN_START_FIRST_ONLY
            ),
            properties=properties,
        )
        self._paho.loop_start()
        if wait_s is not None and not self.connected.wait(wait_s):
            self.stop()
            where = f"{self.config.host}:{self.config.port}"
            raise ConnectError(
                f"cannot connect to the MQTT broker at {where}: {self.last_error or 'no answer'}"
            )
        return self

    def stop(self, final_status: schema.Status | None = None, wait_s: float = 5.0) -> None:
        """Disconnect cleanly, first publishing `final_status` (retained) if given and no
        other process uses our id (its status must not be overwritten)."""
        if final_status is not None and self.connected.is_set() and not self.taken_over.is_set():
            info = self.publish_event(final_status, retain=True)
            info.wait_for_publish(wait_s)
        self._paho.disconnect()
        self._paho.loop_stop()
        self.connected.clear()

    # -- messaging -------------------------------------------------------------------
    def subscribe(self, topic_filter: str, qos: int = 1) -> None:
        with self._lock:
            self._subscriptions[topic_filter] = qos
        if self.connected.is_set():
            self._paho.subscribe(topic_filter, qos)

    def publish(
        self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False
    ) -> paho.MQTTMessageInfo:
        """Queue a message; the returned info's `is_published()` turns true on PUBACK."""
        info = self._paho.publish(topic, payload, qos=qos, retain=retain)
        if info.rc == paho.MQTT_ERR_NO_CONN and qos > 0:
            # paho keeps a QoS>0 message and sends it on reconnect: it is queued, not failed.
            info.rc = paho.MQTT_ERR_SUCCESS
        elif info.rc == paho.MQTT_ERR_QUEUE_SIZE:
            log.warning(
                "offline queue full (%d): publish to %s refused", self.config.max_queued, topic
            )
        return info

    def publish_event(
        self, event: schema.Event, *, retain: bool | None = None, device: str | None = None
    ) -> paho.MQTTMessageInfo:
        """Publish a contract payload on its own topic (QoS 1; status and config retained)."""
        kind = schema.kind_of(event)
        if retain is None:
            retain = kind in topics.RETAINED_KINDS
        return self.publish(topic_for(event, device), schema.encode(event), retain=retain)

    # -- paho callbacks (network thread) ---------------------------------------------
    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self.last_error = f"refused by the broker: {reason_code}"
            log.error("MQTT connect refused: %s", reason_code)
            return
        self.last_error = None
        with self._lock:
            subscriptions = list(self._subscriptions.items())
        if subscriptions:
            client.subscribe(subscriptions)
        self.connected.set()
        log.info("connected to %s:%s as %s", self.config.host, self.config.port, self.client_id)
        self._tell_connection(True)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        was_connected = self.connected.is_set()
        self.connected.clear()
        if reason_code == SESSION_TAKEN_OVER:
            self._twin_found(None)
        if reason_code != 0:
            # Keep a refusal's reason: it is the one an operator can act on.
            self.last_error = self.last_error or f"disconnected: {reason_code}"
            log.warning("MQTT connection lost (%s); reconnecting with backoff", reason_code)
        if was_connected and reason_code != 0:  # not our own clean disconnect
            self._tell_connection(False)

    def _heard_own_status(self, payload: bytes) -> None:
        """Our own status topic: a status another process sent since we started, saying it
        is online, is a twin (a previous run of this device stopped before we started)."""
        try:
            status = schema.decode_as(schema.Status, payload, self._own_status)
        except schema.PayloadError:
            return
        ours = status.boot in (None, BOOT_ID)
        if not ours and status.state == "online" and status.ts >= self._started:
            self._twin_found(status.boot)

    def _twin_found(self, boot: str | None) -> None:
        self.taken_over.set()
        # Both processes reconnecting at full speed would take the id from each other
        # every second: wait the longest backoff between attempts from now on.
        slowest = max(1, round(self.config.reconnect_max_s))
        self._paho.reconnect_delay_set(min_delay=slowest, max_delay=slowest)
        with self._lock:
            if boot in self._twins or (boot is None and self._twins):
                return
            self._twins.add(boot)
        log.error(
            "another device uses this device's id %s (its boot %s, ours %s): give each "
            "device its own id",
            self.client_id,
            boot or "unknown",
            BOOT_ID,
        )
        if self.on_twin is not None:
            try:
                self.on_twin(boot)
            except Exception:  # a bad handler must not kill the network thread
                log.exception("twin handler failed")

    def _tell_connection(self, connected: bool) -> None:
        if self.on_connection is None:
            return
        try:
            self.on_connection(connected)
        except Exception:  # a bad handler must not kill the network thread
            log.exception("connection handler failed")

    def _on_message(self, client, userdata, message: paho.MQTTMessage) -> None:
        if message.topic == self._own_status:
            self._heard_own_status(message.payload)
            return
        try:
            if self.on_delivery is not None:
                mid, qos = message.mid, message.qos
                self.on_delivery(message.topic, message.payload, lambda: client.ack(mid, qos))
            elif self.on_received is not None:
                self.on_received(Received(message.topic, message.payload, bool(message.retain)))
            elif self.on_message is not None:
                self.on_message(message.topic, message.payload)
        except Exception:  # a bad handler must not kill the network thread
            log.exception("message handler failed on %s", printable(message.topic))
