# PostgreSQL from Debian's package, for machines that cannot pull postgres:16 (scripts/image-check.sh).
# It reads what compose.yaml gives the upstream image: POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB,
# its data in /var/lib/postgresql/data, `pg_isready` for the healthcheck.
ARG BASE_IMAGE=cosell-offline/node:20-bookworm
FROM ${BASE_IMAGE}
# No default cluster: the entrypoint makes one in the data volume on first start.
RUN mkdir -p /etc/postgresql-common/createcluster.d \
 && echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/no-main.conf \
 && apt-get update && apt-get install -y --no-install-recommends postgresql-15 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/postgresql/data /var/run/postgresql \
 && chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql && chmod 0700 /var/lib/postgresql/data
COPY postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint.sh
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data
USER postgres
EXPOSE 5432
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint.sh"]
