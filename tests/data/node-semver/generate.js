// Regenerates vectors.json: node-semver (the npm package `semver`) is the oracle for npm ranges.
//
//   npm install --prefix /tmp/semver-oracle semver
//   NODE_PATH=/tmp/semver-oracle/node_modules node tests/data/node-semver/generate.js \
//       [path/to/node-semver/test/fixtures] > tests/data/node-semver/vectors.json
//
// Inputs: a systematic grammar corpus (operators x partial versions x pre-release/build
// suffixes, hyphen ranges, whitespace variants) plus, when a checkout's fixtures directory is
// given, the range and version strings of node-semver's own test fixtures (strict entries only).
// Outputs: for every range, `new Range(r).range` (null when node-semver throws) with and without
// includePrerelease, and which of a fixed list of versions satisfy it in each mode (a hexadecimal bit mask);
// the fixtures' own (range, version) pairs are kept as pairs.
'use strict'
const fs = require('fs')
const path = require('path')
const semver = require('semver')

const ranges = new Set()
const pairs = []
const versions = new Set([
  '0.0.0', '0.0.1', '0.0.3-beta', '0.0.3', '0.0.4-0', '0.0.4', '0.1.0-0', '0.1.0', '0.2.0',
  '0.2.3-beta', '0.2.3', '0.2.9', '0.3.0-0', '0.3.0', '0.9.9', '1.0.0-0', '1.0.0-beta',
  '1.0.0-rc.1', '1.0.0', '1.0.1', '1.1.0-beta', '1.1.0', '1.2.0-0', '1.2.0-beta', '1.2.0',
  '1.2.2', '1.2.3-0', '1.2.3-alpha', '1.2.3-beta', '1.2.3-beta.2', '1.2.3-rc.1', '1.2.3',
  '1.2.4-0', '1.2.4', '1.2.9', '1.3.0-0', '1.3.0-beta', '1.3.0', '1.9.9', '2.0.0-0',
  '2.0.0-beta', '2.0.0', '2.0.1', '2.1.0', '3.0.0-0', '3.0.0', '9.9.9', '10.0.0-0',
  '10.0.0-beta', '10.0.0', '10.0.1', '10.1.0', '10.2.0', '11.0.0-0', '11.0.0', '100.0.0',
])

// The grammar corpus.
const ops = ['', '=', '<', '<=', '>', '>=', '~', '~>', '^', 'v', '=v', '>=v', '~v', '^v', '==', 'vv']
const parts = ['0', '1', 'x', '*']
const partials = []
for (const M of parts) {
  partials.push(M)
  for (const m of ['0', '2', 'x']) {
    partials.push(`${M}.${m}`)
    for (const p of ['0', '3', 'x', '*']) {
      for (const suffix of ['', '-beta', '+build']) {
        partials.push(`${M}.${m}.${p}${suffix}`)
      }
    }
  }
}
partials.push('10.x.0-beta', '1.X', '1.2.X', '1.2.3-0', '1.2.3-rc.1', '1.2.3-beta+b.1', '1.x-beta', '1-beta', '1.2-beta', '1.2.3.4', '01.2.3', '1.02.3', '1.2.03',
  '1.2.3-01', '1.2.3-beta.01', '1.2.3beta', 'x.1', '*.1', '1.x.5', '1.*.5', '9007199254740991',
  '9007199254740991.0.0', '9007199254740990.0.0', '0.9007199254740991.0', '1.2.3-', '1.2.3+')
for (const op of ops) {
  for (const p of partials) {
    ranges.add(op + p)
  }
}
const hyphenEnds = ['1', '1.2', '1.2.3', '1.2.3-beta', '1.x', '1.2.x', 'x', '*', '1.x.3',
  '1.2.x-beta', 'v1.2.3', '=1.2.3', '2', '2.3', '2.3.4', '2.3.4-rc.1', '2.x', 'x.1',
  '2.0.0+b', '0.0.0']
for (const a of hyphenEnds) {
  for (const b of hyphenEnds) {
    ranges.add(`${a} - ${b}`)
  }
}
for (const r of [
  '', ' ', '*', 'x', '||', '1 ||', '|| 1', '1 || 2', '1.x || *', '>* || 1', '<* || >*',
  '> 1.2.3', '>  1.2.3', '> = 1', '< =1', '= 1.2.3', 'v 1.2.3', '~ 1.2', '~> 1.2', '^ 1.2',
  '>= v1.2.3', '>=v 1.2.3', '>= 1.2 < 1.5', '1.2.3\t- 2', '1.2.3 -2', '1.2.3- 2',
  '1.2.3 - 2 - 3', '1.2.3 - 2 || 4 - 5', '>=1.2.3 <', '~', '^', '~>', '>=', '<', '=',
  '>1.2.3-alpha.3', '>=1.2.3 <2.0.0 || 1.2.3-beta', '1.2.3 2.x', '>=1.0.0 <1.0.1 || 1.0.2',
  '^1.2.3-beta.2', '~1.2.3-beta.2', '^0.0.3-beta', '^0.0.x', '^0.x', '^0', '~0', '^0.0',
  '~10.x.0-beta', '1.x.0-beta', '>0.*.1', '^1.x.0', '~1.x.3', '<=1.x.x-beta', '>1.2.x-beta',
  '>=*', '<=*', '>*', '<*', '=*', '~*', '^*', 'x.x.x', 'blerg', '>>1', '1 ||| 2', '1.2.3 ||| 4',
  '1.x+build.1', '^1.2+b', '>=v0.0.0', 'v0.0.0 - 1', '^0.0.3', '~1.2.3', '~1.2.x-01',
]) {
  ranges.add(r)
}

// node-semver's own fixtures: their range and version strings (strict entries only).
const fixtures = process.argv[2]
if (fixtures) {
  for (const name of ['range-parse', 'range-include', 'range-exclude', 'version-gt-range',
    'version-lt-range', 'version-not-gt-range', 'version-not-lt-range']) {
    const file = path.join(fixtures, `${name}.js`)
    const src = fs.readFileSync(file, 'utf8').replace(
      /require\('\.\.\/\.\.\/internal\/constants'\)/, '{ MAX_SAFE_INTEGER: Number.MAX_SAFE_INTEGER }')
    const mod = { exports: null }
    new Function('module', 'exports', 'require', src)(mod, mod.exports, require)
    for (const entry of mod.exports) {
      const [range, second, options] = entry
      if (options === true || (options && options.loose) || typeof range !== 'string') {
        continue
      }
      ranges.add(range)
      if (name !== 'range-parse' && semver.valid(second) === second) {
        pairs.push([range, second])
      }
    }
  }
}

const versionList = [...versions].sort(semver.compare)
const desugar = (r, includePrerelease) => {
  try {
    return new semver.Range(r, { includePrerelease }).range
  } catch {
    return null
  }
}
// Bit i (from the right) of the hexadecimal mask is versions[i].
const mask = (r, includePrerelease) => {
  if (desugar(r, includePrerelease) === null) {
    return null
  }
  let bits = 0n
  versionList.forEach((v, i) => {
    if (semver.satisfies(v, r, { includePrerelease })) {
      bits |= 1n << BigInt(i)
    }
  })
  return bits.toString(16)
}
const rows = [...ranges].filter(r => r.length <= 1024).map(r => [
  r, desugar(r, false), mask(r, false), desugar(r, true), mask(r, true),
])
process.stdout.write(JSON.stringify({
  source: `node-semver ${require('semver/package.json').version} (npm package "semver"), ` +
    'generated by tests/data/node-semver/generate.js',
  columns: ['range', 'range_default', 'satisfies_default', 'range_include_prerelease',
    'satisfies_include_prerelease'],
  versions: versionList,
  ranges: rows,
  pair_columns: ['range', 'version', 'satisfies_default', 'satisfies_include_prerelease'],
  pairs: pairs.filter(([r]) => desugar(r, false) !== null).map(([r, v]) => [
    r, v, semver.satisfies(v, r), semver.satisfies(v, r, { includePrerelease: true }),
  ]),
}, null, 0).replace(/\],\[/g, '],\n[') + '\n')
