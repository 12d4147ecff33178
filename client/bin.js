#!/usr/bin/env node
// The `desk` command (package.json "bin"): registers tsx so the TypeScript client runs under plain node.
'use strict';
require('tsx/cjs');
require('./cli.ts').run();
