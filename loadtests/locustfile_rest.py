"""REST: POST /api/v1/flow/{flow}/service/{kind} for each of --services (entries POST <service>).

locust -f loadtests/locustfile_rest.py --host http://127.0.0.1:8088 --headless -u 20 -r 20 --run-time 30s
"""

from loadtests.users import RestUser

__all__ = ["RestUser"]
