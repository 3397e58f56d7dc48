// Types for build-stamp.js (plain JavaScript, because it runs at install time before TypeScript is compiled).

/** A build: files and directories relative to `root`; `extra` holds tool versions and settings that also matter. */
export interface BuildTarget {
  root: string;
  stamp: string;
  inputs: string[];
  outputs: string[];
  extra: string[];
}

export interface StampCheck {
  upToDate: boolean;
  reason: string;
}

export function hashFiles(root: string, paths: string[], extra?: string[], skip?: string[]): string;
export function inputsHash(target: BuildTarget): string;
export function checkStamp(target: BuildTarget): StampCheck;
export function writeStamp(target: BuildTarget, inputs: string): void;
export function removeStamp(target: BuildTarget): void;
export function addonTarget(root: string): BuildTarget;
export function tscTarget(root: string): BuildTarget;
