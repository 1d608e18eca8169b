#!/bin/sh
# Runs a command with Node 24 first on PATH, whatever the machine's own Node: the `node` of the npm
# registry's node-<os>-<arch> package that `npm ci` installed for this machine (package.json's
# optionalDependencies; npm skips the other platforms'). Every npm script that runs the project's code
# starts through here, so the tools and everything they spawn (vitest's workers, cdk's app, the local
# stack) run on Node 24. Not npm's own `node_modules/.bin/node` link: npm 10 (Node 20's and 22's)
# deletes it when it skips the other platforms' packages, which have the same bin.
modules="$(dirname "$0")/../node_modules"
for node in "$modules"/node-*-*/bin/node; do
  if [ -x "$node" ]; then
    PATH="$(cd "$(dirname "$node")" && pwd):$PATH"
    export PATH
    break
  fi
done
exec "$@"
