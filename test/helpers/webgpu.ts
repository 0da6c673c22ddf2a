// The one place tests find a WebGPU adapter on a machine without a GPU: Dawn for Node accepts the
// SwiftShader Vulkan driver (a CPU implementation) that Debian's chromium package ships. Pointing
// the Vulkan loader at it is enough; on a machine with a real GPU the variable can stay unset.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const ICD_NAME = 'vk_swiftshader_icd.json';

/** Path of SwiftShader's Vulkan ICD manifest, or null when no package on this machine ships one. */
export function swiftShaderIcd(): string | null {
  const given = process.env.TROVE_SWIFTSHADER_ICD;
  if (given && existsSync(given)) return given;
  // chromium installs it through chromium-common; ask dpkg which file it is
  for (const pkg of ['chromium-common', 'chromium']) {
    try {
      const listed = execFileSync('dpkg', ['-L', pkg], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      const file = listed.split('\n').find((line) => line.endsWith(ICD_NAME));
      if (file && existsSync(file)) return file;
    } catch {
      // not a Debian system, or the package is absent
    }
  }
  return null;
}

/**
 * Points the Vulkan loader at SwiftShader for every GPU thread started after this call. Throws
 * with what to install when the driver is missing, so a test file fails loudly instead of
 * silently testing nothing.
 */
export function useSwiftShader(): string {
  const icd = swiftShaderIcd();
  if (!icd) throw new Error(`No SwiftShader Vulkan driver (${ICD_NAME}) found: install Debian's chromium and libvulkan1, or set TROVE_SWIFTSHADER_ICD.`);
  process.env.VK_ICD_FILENAMES = icd;
  return icd;
}
