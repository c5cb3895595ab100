"""The SSE client kit: certify an LLM client that streams chat completions over SSE (OpenAI's wire form)."""
