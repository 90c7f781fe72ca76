# Lays out the host's Node 20 and npm as the official node:20-bookworm-slim image does
# (/usr/local/bin/node, npm under /usr/local/lib/node_modules, user node uid 1000). Built only by
# scripts/seed-images.sh on machines that cannot pull from Docker Hub.
FROM debian:bookworm-slim
ARG NODE_VERSION
RUN groupadd --gid 1000 node \
  && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
COPY corepack /usr/local/lib/node_modules/corepack
# npm reaches the registry through a TLS-inspecting proxy here; its CA is only in the host bundle.
COPY host-ca.crt /usr/local/share/ca-certificates/swarmml-host-bundle.crt
COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
  && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
  && ln -s ../lib/node_modules/corepack/dist/corepack.js /usr/local/bin/corepack \
  && node --version && npm --version
ENV NODE_VERSION=${NODE_VERSION} \
  NODE_EXTRA_CA_CERTS=/usr/local/share/ca-certificates/swarmml-host-bundle.crt
LABEL org.swarmml.seeded="true"
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["node"]
