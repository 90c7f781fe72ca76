#!/bin/sh
set -e
# Behaves as the official redis image's entrypoint: options alone run redis-server; without a
# config file, protected mode is off (other containers must reach it; use a password); as root,
# own /data and drop to the redis user.
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
  set -- redis-server "$@"
fi
if [ "$1" = redis-server ]; then
  case "$2" in
  *.conf) ;;
  *)
    shift
    set -- redis-server --protected-mode no "$@"
    ;;
  esac
  if [ "$(id -u)" = 0 ]; then
    find . \! -user redis -exec chown redis '{}' +
    exec setpriv --reuid=redis --regid=redis --init-groups "$@"
  fi
fi
exec "$@"
