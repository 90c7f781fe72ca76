# redis:7 from Debian bookworm's redis-server package (7.0), laid out as the official image:
# /data volume, user redis, redis-server as the default command. Built only by
# scripts/seed-images.sh on machines that cannot pull from Docker Hub.
FROM debian:bookworm-slim
RUN apt-get update \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server \
  && apt-get clean && rm -rf /var/lib/apt/lists/* \
  && mkdir /data && chown redis:redis /data
COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
VOLUME /data
WORKDIR /data
EXPOSE 6379
LABEL org.swarmml.seeded="true"
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["redis-server"]
