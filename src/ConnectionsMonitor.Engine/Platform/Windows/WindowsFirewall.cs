using System;
using System.Collections.Generic;
using System.Reflection;
using System.Runtime.InteropServices;
using ConnectionsMonitor.Engine.Blocking;

namespace ConnectionsMonitor.Engine.Platform.Windows
{
    /// <summary>
    /// The module's blocks as Windows Firewall rules, through the firewall's COM API (HNetCfg.FwPolicy2 and
    /// HNetCfg.FWRule, late-bound through IDispatch): one blocking rule per direction (NET_FW_ACTION_BLOCK, any
    /// protocol, all profiles, all interface types, RemoteAddresses the target) in the rule group
    /// <see cref="WindowsFirewallRuleText.Group"/>, named and described as <see cref="WindowsFirewallRuleText"/> says.
    /// Windows Firewall rules never expire: <see cref="RemoveExpired"/> deletes rules whose recorded expiry has passed,
    /// and the module calls it whenever a blocking command runs and from the service's loop. Needs an elevated
    /// (Administrator) process for every change; reading works without. Blocks take effect only in profiles where
    /// Windows Firewall is on.
    /// </summary>
    public sealed class WindowsFirewall : IFirewallBackend
    {
        private const int NetFwRuleDirIn = 1, NetFwRuleDirOut = 2, NetFwActionBlock = 0, NetFwIpProtocolAny = 256, NetFwProfile2All = 0x7FFFFFFF;

        /// <inheritdoc/>
        public string Description => "Windows Firewall rule group " + WindowsFirewallRuleText.Group;

        /// <inheritdoc/>
        public bool ExpiresByItself => false;

        /// <inheritdoc/>
        public int ReasonRoom => WindowsFirewallRuleText.ReasonRoom;

        /// <inheritdoc/>
        public IReadOnlyList<BlockRecord> List(DateTime nowUtc)
        {
            var order = new List<BlockTarget>();
            var byTarget = new Dictionary<BlockTarget, BlockRecord>();
            foreach (var rule in OurRules())
            {
                if (byTarget.TryGetValue(rule.Target, out var have)) byTarget[rule.Target] = have.WithDirection(have.Direction | rule.Direction);
                else
                {
                    byTarget[rule.Target] = new BlockRecord(rule.Target, rule.Direction, rule.Reason, rule.Created, rule.Expires, Description);
                    order.Add(rule.Target);
                }
            }
            var list = new List<BlockRecord>();
            foreach (var t in order) list.Add(byTarget[t]);
            return list;
        }

        /// <inheritdoc/>
        public void Add(BlockRequest request)
        {
            string description = WindowsFirewallRuleText.Description(request);
            Remove(request.Target);
            Guard("add the block of " + request.Target.Text, () =>
            {
                object rules = Get(Policy(), "Rules");
                foreach (var dir in new[] { BlockDirection.Inbound, BlockDirection.Outbound })
                {
                    if ((request.Direction & dir) == 0) continue;
                    Type ruleType = Type.GetTypeFromProgID("HNetCfg.FWRule", false)
                        ?? throw new BlockingException(BlockFailure.NotSupported, "The Windows Firewall COM class HNetCfg.FWRule is not registered on this computer.");
                    object rule = Activator.CreateInstance(ruleType);
                    Set(rule, "Name", WindowsFirewallRuleText.RuleName(request.Target, dir));
                    Set(rule, "Description", description);
                    Set(rule, "Grouping", WindowsFirewallRuleText.Group);
                    Set(rule, "Protocol", NetFwIpProtocolAny);
                    Set(rule, "RemoteAddresses", request.Target.Text);
                    Set(rule, "Direction", dir == BlockDirection.Inbound ? NetFwRuleDirIn : NetFwRuleDirOut);
                    Set(rule, "Action", NetFwActionBlock);
                    Set(rule, "Profiles", NetFwProfile2All);
                    Set(rule, "InterfaceTypes", "All");
                    Set(rule, "Enabled", true);
                    Call(rules, "Add", rule);
                }
                return 0;
            });
        }

        /// <inheritdoc/>
        public bool Remove(BlockTarget target)
        {
            var names = new List<string>();
            foreach (var rule in OurRules())
                if (rule.Target.Equals(target)) names.Add(rule.Name);
            RemoveNames(names, "remove the block of " + target.Text);
            return names.Count > 0;
        }

        /// <inheritdoc/>
        public int RemoveAll(DateTime nowUtc)
        {
            var names = new List<string>();
            var targets = new HashSet<string>();
            foreach (var rule in AllGroupRules())
            {
                names.Add(rule.Name);
                targets.Add(rule.Target?.Text ?? rule.Name);
            }
            RemoveNames(names, "remove the rules of the group " + WindowsFirewallRuleText.Group);
            return targets.Count;
        }

        /// <inheritdoc/>
        public int RemoveExpired(DateTime nowUtc)
        {
            var names = new List<string>();
            var targets = new HashSet<BlockTarget>();
            foreach (var rule in OurRules())
                if (WindowsFirewallRuleText.HasExpired(rule.Expires, nowUtc))
                {
                    names.Add(rule.Name);
                    targets.Add(rule.Target);
                }
            RemoveNames(names, "remove expired blocks");
            return targets.Count;
        }

        private void RemoveNames(List<string> names, string what)
        {
            if (names.Count == 0) return;
            Guard(what, () =>
            {
                object rules = Get(Policy(), "Rules");
                foreach (var name in names) Call(rules, "Remove", name);
                return 0;
            });
        }

        private sealed class Rule
        {
            public string Name;
            public BlockTarget Target; // null for a rule of the group whose description is not the module's
            public BlockDirection Direction;
            public DateTime? Created;
            public DateTime? Expires;
            public string Reason;
        }

        /// <summary>The group's rules whose description the module can read.</summary>
        private IEnumerable<Rule> OurRules()
        {
            foreach (var r in AllGroupRules())
                if (r.Target != null) yield return r;
        }

        /// <summary>Every rule of the group (RemoveAll removes these, also ones whose description was edited).</summary>
        private List<Rule> AllGroupRules() => Guard("list the rules of the group " + WindowsFirewallRuleText.Group, () =>
        {
            var list = new List<Rule>();
            object rules = Get(Policy(), "Rules");
            var enumerator = (System.Runtime.InteropServices.ComTypes.IEnumVARIANT)Get(rules, "_NewEnum");
            var one = new object[1];
            while (enumerator.Next(1, one, IntPtr.Zero) == 0)
            {
                object rule = one[0];
                if (rule == null) break;
                try
                {
                    if (!string.Equals(Get(rule, "Grouping") as string, WindowsFirewallRuleText.Group, StringComparison.Ordinal)) continue;
                    var item = new Rule { Name = Get(rule, "Name") as string };
                    int direction = Convert.ToInt32(Get(rule, "Direction"), System.Globalization.CultureInfo.InvariantCulture);
                    item.Direction = direction == NetFwRuleDirIn ? BlockDirection.Inbound : BlockDirection.Outbound;
                    if (WindowsFirewallRuleText.TryParse(Get(rule, "Description") as string, out var target, out var created, out var expires, out var reason))
                    {
                        item.Target = target;
                        item.Created = created;
                        item.Expires = expires;
                        item.Reason = reason;
                    }
                    if (item.Name != null) list.Add(item);
                }
                finally
                {
                    if (Marshal.IsComObject(rule)) Marshal.ReleaseComObject(rule);
                }
            }
            return list;
        });

        private static object Policy()
        {
            Type type = Type.GetTypeFromProgID("HNetCfg.FwPolicy2", false)
                ?? throw new BlockingException(BlockFailure.NotSupported, "The Windows Firewall COM class HNetCfg.FwPolicy2 is not registered on this computer (is the Windows Defender Firewall service installed?).");
            return Activator.CreateInstance(type);
        }

        private static object Get(object o, string name) => o.GetType().InvokeMember(name, BindingFlags.GetProperty, null, o, null, System.Globalization.CultureInfo.InvariantCulture);

        private static void Set(object o, string name, object value) => o.GetType().InvokeMember(name, BindingFlags.SetProperty, null, o, new[] { value }, System.Globalization.CultureInfo.InvariantCulture);

        private static void Call(object o, string name, params object[] args) => o.GetType().InvokeMember(name, BindingFlags.InvokeMethod, null, o, args, System.Globalization.CultureInfo.InvariantCulture);

        /// <summary>Runs a COM conversation and turns its failures into <see cref="BlockingException"/>s.</summary>
        private static T Guard<T>(string what, Func<T> work)
        {
            try { return work(); }
            catch (TargetInvocationException ex) when (ex.InnerException != null) { throw Translate(what, ex.InnerException); }
            catch (Exception ex) when (ex is COMException || ex is UnauthorizedAccessException || ex is InvalidCastException || ex is MissingMethodException) { throw Translate(what, ex); }
        }

        private static Exception Translate(string what, Exception ex)
        {
            if (ex is BlockingException) return ex;
            const int EAccessDenied = unchecked((int)0x80070005);
            if (ex is UnauthorizedAccessException || ex.HResult == EAccessDenied)
                return new BlockingException(BlockFailure.NotPermitted, "Windows Firewall refused to " + what + " (access denied; changing firewall rules needs an elevated process).", ex);
            return new BlockingException(BlockFailure.FirewallFailed, "Windows Firewall could not " + what + ": " + ex.Message + " (HRESULT 0x" + ex.HResult.ToString("X8", System.Globalization.CultureInfo.InvariantCulture) + ").", ex);
        }
    }
}
