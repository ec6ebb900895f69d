#!/usr/bin/env node
// Validates CycloneDX JSON documents against the CycloneDX 1.6 JSON schema
// (strict: no properties the schema does not define) with the validator of
// the CycloneDX project's own library, @cyclonedx/cyclonedx-library
// (scripts/deps.sh installs it from npm, with the ajv packages it needs).
// Usage: sbom-validate.js FILE...   Exit 0 when every file is valid, 1 when
// one is not (the schema errors are printed), 2 on a usage or setup error.
'use strict';
const fs = require('fs');
const path = require('path');

function load(name) {
  try {
    return require(name);
  } catch (e) {
    // A global npm install is not on node's default search path.
    const { execFileSync } = require('child_process');
    const globalRoot = execFileSync('npm', ['root', '-g'], { encoding: 'utf8' }).trim();
    return require(path.join(globalRoot, name));
  }
}

async function main() {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    console.error('usage: sbom-validate.js FILE...');
    return 2;
  }
  let CDX;
  try {
    CDX = load('@cyclonedx/cyclonedx-library');
  } catch (e) {
    console.error('sbom-validate: @cyclonedx/cyclonedx-library is not installed (scripts/deps.sh installs it)');
    return 2;
  }
  const validator = new CDX.Validation.JsonStrictValidator(CDX.Spec.Version.v1dot6);
  let bad = 0;
  for (const f of files) {
    let text;
    try {
      text = fs.readFileSync(f, 'utf8');
    } catch (e) {
      console.error(`sbom-validate: ${f}: ${e.message}`);
      return 2;
    }
    const err = await validator.validate(text);
    if (err === null) {
      console.log(`sbom-validate: ${f}: valid CycloneDX 1.6`);
    } else {
      bad++;
      console.error(`sbom-validate: ${f}: NOT valid CycloneDX 1.6:`);
      console.error(JSON.stringify(err, null, 2));
    }
  }
  return bad === 0 ? 0 : 1;
}

main().then(
  (rc) => process.exit(rc),
  (e) => {
    console.error(`sbom-validate: ${e && e.message ? e.message : e}`);
    process.exit(2);
  },
);
