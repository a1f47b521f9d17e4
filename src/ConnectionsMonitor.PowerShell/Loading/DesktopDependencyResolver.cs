using System;
using System.Collections.Generic;
using System.IO;
using System.Reflection;

namespace ConnectionsMonitor.Loading
{
    /// <summary>
    /// Windows PowerShell 5.1 (.NET Framework): serves the module's dependencies from its deps/ folder
    /// through AppDomain.AssemblyResolve.
    /// </summary>
    /// <remarks>
    /// powershell.exe has no binding redirects for a module, and an assembly loaded with
    /// Assembly.LoadFrom makes the loader probe its folder for that assembly's references itself: a
    /// copy found there whose version differs from the reference (System.Memory 4.0.1.2 where a library
    /// was built against 4.0.1.1) fails with FileLoadException 0x80131040 (FUSION_E_REF_DEF_MISMATCH)
    /// without the resolver being asked. So every file of deps/ is loaded with Assembly.LoadFile, which
    /// probes nothing: each reference the loader cannot find in the GAC or powershell.exe's folder comes
    /// to this resolver, whatever its version, and the folder's one copy answers it (the deps/ folder is
    /// out of every probing path). See "Resolving PowerShell module assembly dependency conflicts" and
    /// "Best Practices for Assembly Loading" in Microsoft's documentation.
    /// </remarks>
    internal sealed class DesktopDependencyResolver
    {
        private readonly string _dependencyDirectory;
        private readonly string _moduleDirectory;
        private readonly Dictionary<string, Assembly> _loaded = new Dictionary<string, Assembly>(StringComparer.OrdinalIgnoreCase);
        private readonly object _gate = new object();

        /// <param name="dependencyDirectory">The edition's deps/ folder.</param>
        /// <param name="moduleDirectory">The module's root folder: assemblies below it are the module's own.</param>
        internal DesktopDependencyResolver(string dependencyDirectory, string moduleDirectory)
        {
            _dependencyDirectory = dependencyDirectory ?? throw new ArgumentNullException(nameof(dependencyDirectory));
            _moduleDirectory = moduleDirectory ?? throw new ArgumentNullException(nameof(moduleDirectory));
        }

        /// <summary>
        /// Whether the folder's copy (<paramref name="available"/>, null when the folder has none) answers
        /// a request for <paramref name="requested"/>. Pure: tested on any OS.
        /// <list type="bullet">
        /// <item>Same simple name, and no other publisher (public key token, when the request names one)
        /// and no satellite culture: otherwise it is not ours to serve.</item>
        /// <item>Asked by one of the module's own assemblies (<paramref name="requestedByModule"/>): served
        /// whatever the version — the folder holds the one copy the module was built and tested with.</item>
        /// <item>Asked by anyone else (another module, or a requester the runtime does not name): served
        /// only when the copy is at least the version asked for, as a binding redirect would; an older
        /// copy is left for that requester's own resolver.</item>
        /// </list>
        /// </summary>
        internal static bool Serves(AssemblyName requested, AssemblyName available, bool requestedByModule)
        {
            if (requested == null || available == null) return false;
            if (!string.Equals(requested.Name, available.Name, StringComparison.OrdinalIgnoreCase)) return false;
            string culture = requested.CultureName;
            if (!string.IsNullOrEmpty(culture) && !string.Equals(culture, "neutral", StringComparison.OrdinalIgnoreCase)) return false;
            byte[] wantedToken = requested.GetPublicKeyToken();
            if (wantedToken != null && wantedToken.Length > 0 && !SameBytes(wantedToken, available.GetPublicKeyToken())) return false;
            if (requestedByModule) return true;
            return requested.Version == null || (available.Version != null && available.Version >= requested.Version);
        }

        /// <summary>Whether an assembly at <paramref name="location"/> is one of the module's own (inside its folder).</summary>
        internal static bool IsInside(string location, string directory)
        {
            if (string.IsNullOrEmpty(location) || string.IsNullOrEmpty(directory)) return false;
            string dir = Path.GetFullPath(directory).TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar) + Path.DirectorySeparatorChar;
            return Path.GetFullPath(location).StartsWith(dir, StringComparison.OrdinalIgnoreCase);
        }

        private static bool SameBytes(byte[] a, byte[] b)
        {
            if (b == null || a.Length != b.Length) return false;
            for (int i = 0; i < a.Length; i++) if (a[i] != b[i]) return false;
            return true;
        }

        /// <summary>The AppDomain.AssemblyResolve handler.</summary>
        internal Assembly Resolve(object sender, ResolveEventArgs args)
        {
            AssemblyName requested;
            try
            {
                requested = new AssemblyName(args.Name);
            }
            catch (Exception)
            {
                return null;
            }
            if (string.IsNullOrEmpty(requested.Name)) return null;

            lock (_gate)
            {
                string candidate = Path.Combine(_dependencyDirectory, requested.Name + ".dll");
                _loaded.TryGetValue(requested.Name, out Assembly already);
                AssemblyName available;
                try
                {
                    available = already != null ? already.GetName() : File.Exists(candidate) ? AssemblyName.GetAssemblyName(candidate) : null;
                }
                catch (Exception)
                {
                    return null; // unreadable file: let the runtime report the original failure
                }

                string requester = null;
                try
                {
                    requester = args.RequestingAssembly?.Location;
                }
                catch (NotSupportedException)
                {
                    // dynamic assemblies have no location
                }
                if (!Serves(requested, available, IsInside(requester, _moduleDirectory))) return null;
                if (already != null) return already;

                // One copy per name for the life of the process (assemblies cannot be unloaded here).
                Assembly loaded = Assembly.LoadFile(candidate);
                _loaded[requested.Name] = loaded;
                return loaded;
            }
        }
    }
}
