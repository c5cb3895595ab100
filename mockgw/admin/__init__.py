"""/__admin: the mock's own control surface (documented in docs/ADMIN.md).

Reset, load or replace contracts at run time, read the journal, per-connection
stats, unmatched requests, scenario states. With --admin-token every call must
carry it (compared in constant time); without one only loopback clients are
answered. Every body is checked before anything changes: a bad one is a 400
naming the problem, never a 500.
"""

from .routes import ADMIN_ROUTES

__all__ = ["ADMIN_ROUTES"]
