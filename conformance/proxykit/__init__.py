"""The proxy kit: certify an LLM proxy (seed 002's StreamLlmProxy) with the mock as its upstream."""
