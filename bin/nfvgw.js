#!/usr/bin/env node
// The nfvgw command: runs the compiled control plane (npm run build:ts).
import '../dist/src/cli/main.js';
