"""Server limits for a shared classroom server, from environment variables (see README).

Every heavy request from the browser is bounded by these, so one person cannot
hold the server: attack steps and restarts, sweep size, training size.
"""

import ipaddress
import os

from .. import heavy
from ..attacks.registry import MAX_RESTARTS as LIBRARY_MAX_RESTARTS
from ..attacks.registry import MAX_STEPS as LIBRARY_MAX_STEPS


def _env_int(name: str, default: int, low: int, high: int) -> int:
    try:
        value = int(os.environ.get(name, default))
    except ValueError:
        value = default
    return max(low, min(high, value))


# A server may lower the library's ceilings (attacks.registry), never raise them.
MAX_STEPS = _env_int("ADVLAB_MAX_STEPS", 200, 1, LIBRARY_MAX_STEPS)
MAX_RESTARTS = _env_int("ADVLAB_MAX_RESTARTS", 5, 1, LIBRARY_MAX_RESTARTS)
MAX_QUERIES = _env_int("ADVLAB_MAX_QUERIES", 2000, 1, 10_000)
MAX_SWEEP_IMAGES = _env_int("ADVLAB_MAX_SWEEP_IMAGES", 2000, 10, 10_000)
MAX_SWEEP_POINTS = _env_int("ADVLAB_MAX_SWEEP_POINTS", 12, 2, 50)
MAX_TRAIN_EPOCHS = _env_int("ADVLAB_MAX_TRAIN_EPOCHS", 3, 1, 50)
MAX_TRAIN_IMAGES = _env_int("ADVLAB_MAX_TRAIN_IMAGES", 20_000, 1000, 60_000)
MAX_TRAIN_JOBS = _env_int("ADVLAB_MAX_TRAIN_JOBS", 1, 1, 8)
# Images per attack batch in sweeps and transfer matrices. The peak memory of a batch stays with
# the process: measured on MNIST, a sweep adds about 130 MB at 128 and 320 MB at 500 (the CLI's).
BATCH = _env_int("ADVLAB_BATCH", 128, 1, 2000)
# Heavy work (advcore.heavy): the largest request in image-attack-steps (one image through one attack step;
# ~2k a second on a busy 2-core CPU for an MNIST CNN), and how many heavy computations run at once.
MAX_WORK = _env_int("ADVLAB_MAX_WORK", heavy.DEFAULT_MAX_WORK, 1000, 10**12)
MAX_HEAVY = _env_int("ADVLAB_MAX_HEAVY", heavy.DEFAULT_MAX_RUNNING, 1, 16)

# Rate limits (advcore.classroom.rooms) are keyed by the client's address: the connection's peer, or,
# where the peer is one of these proxies, the address the proxy forwards in X-Forwarded-For
# (deploy/nginx.conf sets it). Comma-separated addresses or networks; only loopback by default.
TRUSTED_PROXIES_ENV = "ADVLAB_TRUSTED_PROXIES"
DEFAULT_TRUSTED_PROXIES = "127.0.0.0/8, ::1"


def trusted_proxies(text: str | None = None) -> list:
    """The networks in ``text`` (default: ADVLAB_TRUSTED_PROXIES); entries that are not addresses are skipped."""
    text = os.environ.get(TRUSTED_PROXIES_ENV, DEFAULT_TRUSTED_PROXIES) if text is None else text
    networks = []
    for item in text.replace(";", ",").split(","):
        try:
            networks.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            continue
    return networks


def _address(text: str | None):
    try:
        ip = ipaddress.ip_address(str(text).strip())
    except ValueError:
        return None
    return (ip.ipv4_mapped or ip) if ip.version == 6 else ip


def client_address(peer: str | None, forwarded_for: str = "", proxies: list | None = None) -> str:
    """The address a request comes from, as the key of its rate limits. ``peer`` is the connection's
    (None means loopback, as Streamlit reports it); while the hop in hand is a trusted proxy, the next
    address to the left in ``forwarded_for`` (the proxy's X-Forwarded-For) is taken instead. An IPv6
    address counts as its /64, the range one household or phone is given."""
    proxies = trusted_proxies() if proxies is None else proxies
    current = _address("127.0.0.1" if peer is None else peer)
    if current is None:
        return str(peer)
    hops = [h for h in str(forwarded_for or "").split(",") if h.strip()]
    while hops and any(current in net for net in proxies if net.version == current.version):
        nxt = _address(hops.pop())
        if nxt is None:
            break  # a malformed entry: the hop before it is the last one a trusted proxy vouched for
        current = nxt
    if current.version == 6:
        return str(ipaddress.ip_network(f"{current}/64", strict=False))
    return str(current)
