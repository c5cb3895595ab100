"""The mockgw conformance kit: certify a gateway client through a driver program (see README.md)."""
