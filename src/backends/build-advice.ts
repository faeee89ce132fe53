/**
 * What to do when the native addon is missing, for where sacl-au is: installed as a dependency (inside a
 * node_modules folder: no devDependencies such as cmake-js, no npm scripts of ours to run from the user's
 * project) or a checkout of its repository. Commands name the package's own directory, not the cwd.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, sep } from 'node:path';

export interface BuildPlace {
  /** The package's directory (where binding.gyp, CMakeLists.txt, build/ and prebuilds/ are). */
  root: string;
  /** True when the package sits inside a node_modules folder (installed from npm or a tarball). */
  installed: boolean;
  /** `${process.platform}-${process.arch}`, as node-gyp-build names prebuild folders. */
  platform: string;
  /** The platforms the package ships prebuilds for (prebuilds/<platform>-<arch>/), sorted. */
  prebuilds: string[];
}

/** Where the package at `root` is and which prebuilds it ships. */
export function buildPlace(root: string, platform = `${process.platform}-${process.arch}`): BuildPlace {
  const dir = join(root, 'prebuilds');
  const prebuilds = existsSync(dir) ? readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort() : [];
  return { root, installed: root.split(sep).includes('node_modules'), platform, prebuilds };
}

const quote = (path: string) => (/^[\w./@:+-]+$/.test(path) ? path : `'${path.replace(/'/g, `'\\''`)}'`);

/** The CPU build from source: the package's install script again (node-gyp-build, then node-gyp, which npm bundles). */
function cpuBuild(p: BuildPlace): string {
  return p.installed
    ? `\`npm rebuild sacl-au\` in the project that installed it (node-gyp, bundled with npm, compiles ${p.root}; needs python3, make and a C++17 compiler)`
    : '`npm run build:gyp` (needs python3, make and a C++17 compiler)';
}

/** The CUDA build: cmake-js, a devDependency, so an installed package fetches it with npx. */
function cudaBuild(p: BuildPlace): string {
  return p.installed
    ? `\`npx cmake-js compile --directory ${quote(p.root)}\` (cmake-js is not installed with sacl-au: npx fetches it; needs cmake, a C++17 compiler and nvcc)`
    : '`npm run build:native` (cmake-js; adds CUDA when nvcc is found)';
}

/** No binary for this platform: what ships, and how to build one. */
export function missingAddonAdvice(p: BuildPlace): string {
  const shipped = p.prebuilds.length ? `prebuilds ship for ${p.prebuilds.join(', ')}` : 'no prebuilds ship with this copy';
  return `the native addon is not built for this platform (${p.platform}; ${shipped}): build it with ${cpuBuild(p)}, or with CUDA: ${cudaBuild(p)}`;
}

/** A binary that exists but does not load (another Node ABI, a missing shared library, …). */
export function brokenAddonAdvice(p: BuildPlace, error: string): string {
  return `the native addon failed to load (${error}); rebuild it with ${cpuBuild(p)}`;
}

/**
 * The addon's own reason for having no CUDA kernels names the repository's npm script; for an installed
 * package, the command that works there instead.
 */
export function cudaReason(p: BuildPlace, reason: string): string {
  if (!p.installed || !reason.includes('npm run build:native')) return reason;
  return `this build has no CUDA kernels: rebuild with ${cudaBuild(p)} on a machine where nvcc (the CUDA toolkit) is installed`;
}
