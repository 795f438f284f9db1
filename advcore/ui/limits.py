"""Server limits for a shared classroom server, from environment variables (``advcore.settings``,
docs/settings.md), read once when this module is imported.

Every heavy request from the browser is bounded by these, so one person cannot
hold the server: attack steps and restarts, sweep size, training size. A value outside its
variable's range stops the server at start with one line (``advcore.settings.SettingsError``).
"""

import ipaddress

from ..settings import default, settings

_s = settings()
# A server may lower the library's ceilings (attacks.registry), never raise them (the settings' bounds).
MAX_STEPS = _s.max_steps
MAX_RESTARTS = _s.max_restarts
MAX_QUERIES = _s.max_queries
MAX_SWEEP_IMAGES = _s.max_sweep_images
MAX_SWEEP_POINTS = _s.max_sweep_points
MAX_TRAIN_EPOCHS = _s.max_train_epochs
MAX_TRAIN_IMAGES = _s.max_train_images
MAX_TRAIN_JOBS = _s.max_train_jobs
# Images per attack batch in sweeps and transfer matrices (its peak memory stays with the process).
BATCH = _s.batch
# Heavy work (advcore.heavy): the largest request in image-attack-steps, and how many heavy computations run at once.
MAX_WORK = _s.max_work
MAX_HEAVY = _s.max_heavy

# Rate limits (advcore.classroom.rooms) are keyed by the client's address: the connection's peer, or,
# where the peer is one of these proxies, the address the proxy forwards in X-Forwarded-For
# (deploy/nginx.conf sets it). Comma-separated addresses or networks; only loopback by default.
TRUSTED_PROXIES_ENV = "ADVLAB_TRUSTED_PROXIES"
DEFAULT_TRUSTED_PROXIES = default(TRUSTED_PROXIES_ENV)


def trusted_proxies(text: str | None = None) -> list:
    """The networks in ``text`` (default: ADVLAB_TRUSTED_PROXIES); entries that are not addresses are skipped."""
    text = settings().trusted_proxies if text is None else text
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
