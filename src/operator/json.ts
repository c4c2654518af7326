/** JSON values as the operator reads YAML into them (safe-yaml.ts) and merges them (iop.ts). */
export type Json = string | number | boolean | null | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };
