#!/bin/sh
# PostgreSQL end to end as a non-root user: initdb, pg_ctl start with a
# unix socket only, psql over that socket, pg_ctl stop. Prints only facts.
# The user is "nobody" (setpriv); the data directory is a fresh one under
# /tmp that the script removes.
set -u
bin=/usr/lib/postgresql/15/bin
dir=$(mktemp -d /tmp/pg-test.XXXXXX)
chown nobody:nogroup "$dir"
as() { setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"; }
export LC_ALL=C
as "$bin/initdb" -D "$dir/data" -A trust -U tester --no-sync >"$dir/initdb.log" 2>&1
echo "initdb: $?"
as "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 20 \
	-o "-k $dir -c listen_addresses= -c fsync=off" start >/dev/null 2>&1
echo "start: $?"
as "$bin/psql" -h "$dir" -U tester -d postgres -At -c 'select 1' 2>&1
as "$bin/psql" -h "$dir" -U tester -d postgres -At \
	-c 'create table t(a int)' -c 'insert into t select generate_series(1,1000)' \
	-c 'select count(*), sum(a) from t' 2>&1
as "$bin/pg_ctl" -D "$dir/data" -w -t 20 -m fast stop >/dev/null 2>&1
echo "stop: $?"
rm -rf "$dir"
