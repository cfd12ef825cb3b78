// loadLeaderManager returns the LeaderManager class of the trimerge-sync
// bundle installed in dir/node_modules, which must be the given version.
// The bundle does not export the class: it is evaluated as it ships, with
// the names of scope (say require, setTimeout, console) bound to their
// values, and the class is taken from its scope. Shared by the
// differential harness (internal/refdiff) and the mixed cluster's member
// (internal/mixedtest).
'use strict';

const fs = require('fs');
const path = require('path');

function loadLeaderManager(dir, version, scope) {
  const pkgDir = path.join(dir, 'node_modules', 'trimerge-sync');
  const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
  if (pkg.version !== version) {
    throw new Error(`trimerge-sync is ${pkg.version}, want ${version}; run npm ci in ${dir}`);
  }
  const src = fs.readFileSync(path.join(pkgDir, 'dist', 'index.js'), 'utf8');
  const mod = { exports: {} };
  const names = Object.keys(scope);
  const factory = new Function('exports', 'module', ...names, src + '\nexports.LeaderManager = LeaderManager;');
  factory(mod.exports, mod, ...names.map((n) => scope[n]));
  if (typeof mod.exports.LeaderManager !== 'function') throw new Error('LeaderManager not found in the bundle');
  return mod.exports.LeaderManager;
}

module.exports = { loadLeaderManager };
