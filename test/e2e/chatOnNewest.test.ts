// The chat panel test (chat.test.ts), again on the newest VS Code we test: code-server 4.139.1 (VS Code 1.139.1 on
// its own Node 24, where the sidecar then runs too). Same steps and assertions; screenshots carry "@1.139".
process.env.PHI_E2E_VSCODE = 'newest';
require('./chat.test');
