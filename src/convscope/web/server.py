"""Running the app: bind the port first (a port in use is one sentence, not a traceback), then
uvicorn on that socket until Ctrl-C."""

import contextlib
import errno
import ipaddress
import socket
import threading

from ..errors import ConvscopeError

LOCAL = ("127.0.0.1", "localhost")


def is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host, port):
    """A listening IPv4 TCP socket on host:port (port 0: a free one)."""
    if ":" in host:
        raise ConvscopeError(
            f"serve: --host {host}: give an IPv4 address or a host name, e.g. 127.0.0.1"
        )
    # proto IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on accepted sockets only then, and
    # without it a keep-alive response waits ~40 ms for the client's delayed ACK (measured)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except socket.gaierror:
        sock.close()
        raise ConvscopeError(
            f"serve: unknown host {host!r}; give an address such as 127.0.0.1"
        ) from None
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ConvscopeError(
                f"serve: port {port} on {host} is already in use; stop what runs there or choose"
                f" another port with --port N (--port 0 picks a free one)"
            ) from None
        if exc.errno in (errno.EACCES, errno.EPERM):
            raise ConvscopeError(
                f"serve: no permission to use port {port}; choose one above 1023"
            ) from None
        raise ConvscopeError(f"serve: cannot listen on {host}:{port} ({exc.strerror})") from None
    return sock


def allowed_hosts(host, extra=()):
    """The Host header values a request may carry: the address served (and, for a wildcard
    address, this machine's names and addresses), plus ``extra``."""
    hosts = {host, *extra}
    if is_loopback(host) or host in ("0.0.0.0", ""):
        hosts.update(LOCAL)
    if host in ("0.0.0.0", ""):
        name = socket.gethostname()
        hosts.update({name, socket.getfqdn()})
        with contextlib.suppress(OSError):
            hosts.update(socket.gethostbyname_ex(name)[2])
    return sorted(hosts)


def run(app, sock, on_ready=None):
    """Serve ``app`` on ``sock`` until interrupted; ``on_ready()`` runs once it accepts requests."""
    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    )
    if on_ready is not None:

        def wait():
            while not server.started and not server.should_exit:
                threading.Event().wait(0.05)
            if server.started:
                on_ready()

        threading.Thread(target=wait, daemon=True).start()
    server.run(sockets=[sock])
