"""deploy/'s configuration on one machine without Docker: redis-server with ``deploy/redis.conf``,
N ``streamlit run app.py`` replicas on free loopback ports sharing one user-models folder, and nginx
with ``deploy/nginx.conf`` templated for those ports (Debian's ``nginx`` and ``redis-server``).
Used by tests/test_scale.py, and to measure load through nginx:

    python -m deploy.local --replicas 2          # prints the nginx URL; Ctrl-C stops everything
    python -m bench.load --url http://127.0.0.1:PORT --sessions 60 --seconds 60 --think 3 --ramp 20

Every process is started here and stopped here, by its PID.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench.browser import free_port, streamlit_server

DEPLOY = Path(__file__).resolve().parent
NGINX_CONF = DEPLOY / "nginx.conf"
REDIS_CONF = DEPLOY / "redis.conf"
NGINX = os.environ.get("ADVLAB_NGINX") or shutil.which("nginx") or "/usr/sbin/nginx"
REDIS_SERVER = os.environ.get("ADVLAB_REDIS_SERVER") or shutil.which("redis-server") or "/usr/bin/redis-server"
LOG_LINE = re.compile(r'"(?P<request>[^"]*)" (?P<status>\d+) .* upstream=(?P<upstream>.*) '
                      r"upstream_status=.* route=(?P<route>\S*)$")
UPSTREAM_LINE = re.compile(r"^(\s*)server app:8501( [^;]*)?;$", re.M)


def missing_binaries() -> list[str]:
    """The binaries this needs that are not installed (``apt-get install nginx redis-server``)."""
    return [path for path in (NGINX, REDIS_SERVER) if not Path(path).exists()]


def _substitute(pattern: str, repl: str, text: str, flags: int = re.M) -> str:
    new, n = re.subn(pattern, lambda _: repl, text, flags=flags)
    if n != 1:
        raise ValueError(f"deploy/nginx.conf: expected one match of {pattern!r}, found {n}")
    return new


def render_nginx_conf(upstreams: list[str], listen: str, workdir: Path) -> str:
    """deploy/nginx.conf with its one ``server app:8501 ...;`` line replaced by one line per
    address in ``upstreams`` (same parameters), ``listen`` as the listening address, and the pid
    file, logs and temporary files under ``workdir``. Nothing else changes."""
    text = NGINX_CONF.read_text()
    match = UPSTREAM_LINE.search(text)
    if match is None or len(UPSTREAM_LINE.findall(text)) != 1:
        raise ValueError("deploy/nginx.conf: expected exactly one `server app:8501 ...;` line in the upstream")
    indent, params = match.group(1), match.group(2) or ""
    text = _substitute(UPSTREAM_LINE.pattern, "\n".join(f"{indent}server {a}{params};" for a in upstreams), text)
    text = _substitute(r"^(\s*)listen 80;$", f"    listen {listen};", text)
    text = _substitute(r"^pid [^;]*;$", f"pid {workdir / 'nginx.pid'};", text)
    text = _substitute(r"^error_log [^;]*;$", f"error_log {workdir / 'error.log'} warn;", text)
    log = f"    access_log {workdir / 'access.log'} advlab;"
    text = _substitute(r"^(\s*)access_log /dev/stdout advlab;$", log, text)
    temp = "".join(f"    {kind}_temp_path {workdir / ('tmp-' + kind)};\n"
                   for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return _substitute(r"^http \{\n", "http {\n" + temp, text)


def _wait_port(port: int, proc: subprocess.Popen, what: str, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with status {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on port {port} within {timeout} s")


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 10) -> None:
    """Stop one process we started, by its PID: ``sig``, then SIGKILL if it has not exited."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Replica:
    url: str
    proc: subprocess.Popen

    @property
    def address(self) -> str:
        return self.url.removeprefix("http://")


@dataclass
class Cluster:
    url: str  # nginx
    workdir: Path
    replicas: list[Replica]
    redis_port: int
    redis: subprocess.Popen | None = None
    nginx: subprocess.Popen | None = None
    log: list[str] = field(default_factory=list)

    @property
    def store_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    @property
    def access_log(self) -> Path:
        return self.workdir / "access.log"

    def start_redis(self) -> subprocess.Popen:
        """redis-server with deploy/redis.conf (append-only file on), on this cluster's port and folder."""
        data = self.workdir / "redis"
        data.mkdir(exist_ok=True)
        self.redis = subprocess.Popen([REDIS_SERVER, str(REDIS_CONF), "--port", str(self.redis_port),
                                       "--bind", "127.0.0.1", "--dir", str(data), "--daemonize", "no"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_port(self.redis_port, self.redis, "redis-server")
        return self.redis

    def start_nginx(self) -> subprocess.Popen:
        port = int(self.url.rsplit(":", 1)[1])
        conf = self.workdir / "nginx.conf"
        conf.write_text(render_nginx_conf([r.address for r in self.replicas], f"127.0.0.1:{port}", self.workdir))
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.workdir / f"tmp-{kind}").mkdir(exist_ok=True)
        test = subprocess.run([NGINX, "-t", "-p", str(self.workdir), "-c", str(conf)], capture_output=True, text=True)
        if test.returncode:
            raise RuntimeError(f"nginx -t refused the rendered deploy/nginx.conf: {test.stderr[-2000:]}")
        self.nginx = subprocess.Popen([NGINX, "-p", str(self.workdir), "-c", str(conf), "-g", "daemon off;"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_port(port, self.nginx, "nginx")
        return self.nginx

    def requests(self, route: str | None = None) -> list[dict]:
        """nginx's access log, oldest first (only one route cookie's requests if ``route`` is given):
        each a dict with ``request``, ``status`` and ``upstreams`` (the replica addresses tried, the
        answering one last; a request retried after a dead replica lists both)."""
        found = []
        for line in self.access_log.read_text().splitlines() if self.access_log.exists() else []:
            m = LOG_LINE.search(line)
            if m and (route is None or m["route"] == route):
                found.append({"request": m["request"], "status": int(m["status"]), "route": m["route"],
                              "upstreams": m["upstream"].split(", ")})
        return found


def _wait_health(url: str, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while True:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.2)


@contextmanager
def cluster(replicas: int = 2, workdir: str | Path | None = None, env_extra: dict | None = None,
            listen_port: int | None = None):
    """redis-server, ``replicas`` Streamlit replicas (ADVLAB_STORE pointing at that redis, one
    shared ADVCORE_USER_MODELS folder) and nginx in front; yields a ``Cluster``. Stops every process
    it started (by PID) on exit."""
    with ExitStack() as stack:
        if workdir is None:
            workdir = stack.enter_context(tempfile.TemporaryDirectory(prefix="advlab-cluster-"))
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        os.chmod(workdir, 0o755)  # nginx workers run as an unprivileged user when started by root
        c = Cluster(url=f"http://127.0.0.1:{listen_port or free_port()}", workdir=workdir, replicas=[],
                    redis_port=free_port())
        stack.callback(lambda: c.redis and stop(c.redis))
        c.start_redis()
        env = {"ADVLAB_STORE": c.store_url, "ADVCORE_USER_MODELS": str(workdir / "user-models"),
               "ADVLAB_STATE_DIR": str(workdir / "state"), **(env_extra or {})}
        for _ in range(replicas):
            url, proc = stack.enter_context(streamlit_server(env))
            c.replicas.append(Replica(url, proc))
        stack.callback(lambda: c.nginx and stop(c.nginx, signal.SIGQUIT))
        c.start_nginx()
        _wait_health(c.url)
        yield c


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--port", type=int, default=None, help="nginx's port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--workdir", default=None, help="keep redis data, logs and user models here")
    args = parser.parse_args()
    if missing_binaries():
        raise SystemExit(f"missing: {', '.join(missing_binaries())} (apt-get install nginx redis-server)")
    with cluster(args.replicas, args.workdir, listen_port=args.port) as c:
        print(f"nginx {c.url}  redis {c.store_url}  workdir {c.workdir}", flush=True)
        for r in c.replicas:
            print(f"replica {r.url} pid {r.proc.pid}", flush=True)
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
