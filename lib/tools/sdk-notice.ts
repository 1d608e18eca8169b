/**
 * Imported first by the command-line tools, before any module that creates an SDK client: Node 20 is
 * this project's runtime (package.json engines), so the SDK's notice that its future releases need
 * Node 22 would only be noise in a tool's output. Lambda runs Node 22, where it never shows.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
