#!/usr/bin/env bash
# Rewrites this fixture from Baton 0.2.0 (commit 970eb11), NOT from the current code. Only needed if
# the fixture is lost; a new release adds its own directory (from-0.3.0, ...) instead. See README.md.
# Usage: ha-core/src/test/resources/upgrade/from-0.2.0/regenerate.sh   (from the repository root)
set -euo pipefail
COMMIT=970eb11b36452bec589573029b5cae7edd4435ea
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(git -C "$HERE" rev-parse --show-toplevel)
WORK="$REPO/target/prev-0.2.0"
rm -rf "$WORK" "$REPO/target/fixture-0.2.0"
git clone -q --no-checkout "$REPO" "$WORK"
git -C "$WORK" checkout -q "$COMMIT"
cp "$REPO/.mvn/wrapper/maven-wrapper.jar" "$WORK/.mvn/wrapper/" 2>/dev/null || true
# package, never install: nothing of 0.2.0 goes into the local Maven repository
(cd "$WORK" && ./mvnw -B -ntp -q -pl ha-core -am package -DskipTests \
  && ./mvnw -B -ntp -q -pl ha-core dependency:build-classpath -Dmdep.outputFile="$WORK/cp.txt")
java -cp "$WORK/ha-core/target/ha-core-0.2.0.jar:$(cat "$WORK/cp.txt")" \
  "$HERE/MakeFixture.java" "$REPO/target/fixture-0.2.0"
rm -rf "$HERE/n1" "$HERE/n2" "$HERE/n3"
cp -r "$REPO/target/fixture-0.2.0"/{n1,n2,n3,fixture.properties} "$HERE/"
echo "fixture rewritten from 0.2.0 ($COMMIT) in $HERE"
