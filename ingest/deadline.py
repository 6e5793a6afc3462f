"""A deadline for a whole HTTP response, headers and body.

requests' timeouts bound each socket operation, not the response: a server that sends one
byte every few seconds never trips them and holds a fetch forever. A `Deadline` starts a
timer; if the response is still arriving when it fires, the timer shuts down the socket of
the request in flight, and whatever read was blocked on it fails at once. The request's
socket is found through `DeadlineAdapter`, whose connections report to the deadline of the
thread that sends on them.
"""

from __future__ import annotations

import functools
import socket
import threading

import requests
from urllib3.connection import HTTPConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_in_flight = threading.local()


class Deadline:
    """`with Deadline(seconds):` around a request and the reading of its body."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.expired = False
        self._connection: HTTPConnection | None = None
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self):
        _in_flight.deadline = self
        self._timer.start()
        return self

    def __exit__(self, *exc):
        self._timer.cancel()
        _in_flight.deadline = None
        return False

    def watch(self, connection: HTTPConnection) -> None:
        self._connection = connection

    def _expire(self) -> None:
        self.expired = True
        sock = getattr(self._connection, "sock", None)
        if isinstance(sock, socket.socket):
            try:
                # socket.socket's own shutdown, also for a TLS socket: ssl's would unwrap it
                # under the feet of the thread that is reading.
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except OSError:
                pass  # already closed: the request ended as the timer fired


class _Watched:
    def request(self, *args, **kwargs):
        deadline = getattr(_in_flight, "deadline", None)
        if deadline is not None:
            deadline.watch(self)
        return super().request(*args, **kwargs)


@functools.cache
def _watched(connection_class: type) -> type:
    return type(f"Watched{connection_class.__name__}", (_Watched, connection_class), {})


class _WatchedPool:
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Read when the pool is made, not when this module is imported: a tool that swaps
        # urllib3's connection class (vcrpy, in the tests) keeps working.
        self.ConnectionCls = _watched(self.ConnectionCls)


class _HTTPConnectionPool(_WatchedPool, HTTPConnectionPool):
    pass


class _HTTPSConnectionPool(_WatchedPool, HTTPSConnectionPool):
    pass


POOLS = {"http": _HTTPConnectionPool, "https": _HTTPSConnectionPool}


class DeadlineAdapter(requests.adapters.HTTPAdapter):
    """requests' adapter, with connections a `Deadline` can cut (proxied ones too)."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = POOLS

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):  # SOCKS pools have their own connections
            manager.pool_classes_by_scheme = POOLS
        return manager
