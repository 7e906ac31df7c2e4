FROM python:3.11-slim
WORKDIR /opt/tvdb
COPY pyproject.toml README.md ./
COPY tvdb ./tvdb
COPY tvdb_assets ./tvdb_assets
COPY tvdb_resources ./tvdb_resources
COPY sensors ./sensors
RUN pip install --no-cache-dir .
COPY dagster.yaml workspace.yaml ./
ENV DAGSTER_HOME=/opt/tvdb
