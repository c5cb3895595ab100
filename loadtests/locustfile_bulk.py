"""Bulk import: frames of --bulk-batch triples on /api/v1/flow/{flow}/import/triples (entries BULK).

locust -f loadtests/locustfile_bulk.py --host http://127.0.0.1:8088 --headless -u 4 -r 4 --run-time 30s
"""

from loadtests.users import BulkImportUser

__all__ = ["BulkImportUser"]
