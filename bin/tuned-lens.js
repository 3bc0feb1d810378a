#!/usr/bin/env node
// Runs the compiled CLI (built by `npm run build`, which `npm ci` runs through the prepare script).
import { main } from '../dist/src/cli/main.js';

main(process.argv.slice(2)).then((code) => process.exit(code));
