# mockgw as a CI service: the package installed, `mockgw serve` on 0.0.0.0:8088 inside the container.
#   docker build -t mockgw .        (or: podman build -t mockgw .)
#   docker run --rm -p 127.0.0.1:8088:8088 mockgw [--profile 1.7 --speed 10 ...]
# Options after the image name are `mockgw serve` options; every MOCKGW_* variable works too (-e MOCKGW_TOKEN=…).
FROM python:3.11-slim

WORKDIR /opt/mockgw
COPY pyproject.toml README.md ./
COPY mockgw ./mockgw
COPY conformance ./conformance
COPY loadtests ./loadtests
COPY contracts ./contracts
# Editable: the bundled contracts and their JSON Schema are found beside the package (mockgw/bundled.py).
RUN python -m pip install --no-cache-dir -e . && useradd --system --no-create-home mockgw

USER mockgw
# Inside a container the mock must listen beyond loopback for a published port to reach it; publish it on the host's
# 127.0.0.1 (as above) to keep it local.
ENV MOCKGW_HOST=0.0.0.0 MOCKGW_PORT=8088
EXPOSE 8088
ENTRYPOINT ["mockgw", "serve"]
