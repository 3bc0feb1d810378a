#!/usr/bin/env node
// Runs the compiled CLI (built by `npm run build`, which `npm ci` runs through the prepare script).
// runAsProcess exits only after stdout has drained, so piped output is never cut off.
import { runAsProcess } from '../dist/src/cli/main.js';

void runAsProcess(process.argv.slice(2));
