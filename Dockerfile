# The knobless image: the compiler CLI and the APA external scaler (`knobless scaler ...`).
#   docker build -t ghcr.io/knobless/knobless:0.1.0 .
#   docker run --rm ghcr.io/knobless/knobless:0.1.0 scaler --listen 0.0.0.0:9090 \
#       --prometheus http://prometheus.monitoring.svc:9090 --metrics-listen 0.0.0.0:9100
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY compiler ./compiler
COPY plugins ./plugins
# Build wheels (knobless with the scaler's extra, and every dependency) so the runtime stage gets
# only the installed packages, not the sources.
RUN pip wheel --no-cache-dir --wheel-dir /wheels '.[scaler]'

FROM python:3.11-slim
# Bytecode is compiled at install time; the scaler runs with a read-only root filesystem.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --compile /wheels/*.whl \
    && rm -rf /wheels \
    && groupadd --gid 65532 nonroot \
    && useradd --uid 65532 --gid 65532 --no-create-home --shell /usr/sbin/nologin nonroot \
    && install -d -o 65532 -g 65532 /var/lib/knobless
# 65532 is the uid the rendered scaler StatefulSet runs as (runAsUser) and owns its state volume.
USER 65532:65532
WORKDIR /var/lib/knobless
# 9090: gRPC (KEDA, health); 9100: /metrics and /healthz.
EXPOSE 9090 9100
ENTRYPOINT ["knobless"]
CMD ["--help"]
