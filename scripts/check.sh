# Sourced by the test scripts (oci-test.sh, docker-test.sh): one line per
# check, counted; `checks_done` prints the last line, "N passed, M
# failed", and fails if any did.
pass=0 fail=0
check() { # check NAME EXPECTED ACTUAL
	if [ "$2" == "$3" ]; then
		pass=$((pass + 1)); echo "ok   $1"
	else
		fail=$((fail + 1)); echo "FAIL $1: expected [$2], got [$3]"
	fi
}
checks_done() {
	echo "took ${SECONDS}s"
	echo "$pass passed, $fail failed"
	[ $fail = 0 ]
}
