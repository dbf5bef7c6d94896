# The PacketFlow worker image (used by docker-compose.yml's `worker` service).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY . .
RUN pip install . \
    && useradd --create-home --uid 10001 packetflow \
    && mkdir -p /var/lib/packetflow \
    && chown packetflow /var/lib/packetflow

# Faust keeps its tables (RocksDB) under the working directory.
WORKDIR /var/lib/packetflow
USER packetflow

ENV PACKETFLOW_WEB_PORT=6066
EXPOSE 6066

CMD ["faust", "-A", "packetflow", "worker", "-l", "info"]
