using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Reflection;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Cmdlets
{
    /// <summary>
    /// The MAML help (en-US/ConnectionsMonitor.PowerShell.dll-Help.xml) is complete and each cmdlet's
    /// own: synopsis, description, examples numbered 1..N, exactly the parameters the cmdlet declares
    /// with their real types, no parameter text copied from another cmdlet, one spelling per type name.
    /// </summary>
    public class HelpTests : IClassFixture<ModuleSessionFixture>
    {
        private static readonly XNamespace Maml = "http://schemas.microsoft.com/maml/2004/10";
        private static readonly XNamespace Command = "http://schemas.microsoft.com/maml/dev/command/2004/10";
        private static readonly XNamespace Dev = "http://schemas.microsoft.com/maml/dev/2004/10";

        /// <summary>The file's example title style: "-------------------------- Example 3: What it shows --------------------------".</summary>
        private static readonly Regex ExampleTitle = new Regex(@"^-{10,} Example (?<n>\d+)(?:: (?<what>\S.*?))? -{10,}$", RegexOptions.CultureInvariant);

        /// <summary>A parameter description that says the parameter takes wildcards.</summary>
        private static readonly Regex WildcardText = new Regex(@"\bwildcards?\b", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase);

        private static string HelpFile => Path.Combine(Repo.Root, "src", "ConnectionsMonitor.PowerShell", "en-US", "ConnectionsMonitor.PowerShell.dll-Help.xml");

        private readonly ModuleSession _ps;

        public HelpTests(ModuleSessionFixture fixture)
        {
            _ps = fixture.Session;
        }

        [Fact]
        public void TheHelpFileIsCompleteConsistentAndEachCmdletsOwn()
        {
            var problems = Problems(XDocument.Load(HelpFile), Cmdlets());
            Assert.True(problems.Count == 0, "Help problems:" + Environment.NewLine + string.Join(Environment.NewLine, problems));
        }

        /// <summary>The checks themselves catch what issue #10 found: copied -State text, an example number twice, a type spelled two ways.</summary>
        [Fact]
        public void TheChecksCatchCopiedTextBadNumberingAndMixedTypeNames()
        {
            var cmdlets = Cmdlets();
            var doc = XDocument.Load(HelpFile);
            Assert.Empty(Problems(doc, cmdlets));

            string watchState = Description(Parameters(Find(doc, "Watch-Connection")).First(p => Name(p) == "State"));
            foreach (var p in Find(doc, "Get-TopTalker").Descendants(Command + "parameter").Where(p => Name(p) == "State"))
                p.Element(Maml + "description").ReplaceNodes(new XElement(Maml + "para", watchState));
            var secondExample = Find(doc, "Get-MonitoredConnection").Descendants(Command + "example").ElementAt(1).Element(Maml + "title");
            secondExample.Value = secondExample.Value.Replace("Example 2", "Example 1");
            var aType = Find(doc, "Get-ConnectionStatistic").Descendants(Dev + "type").First(t => (string)t.Element(Maml + "name") == "String[]").Element(Maml + "name");
            aType.Value = "string[]";
            var aParameter = Find(doc, "Update-ConnectionGeoDatabase").Element(Command + "parameters").Elements(Command + "parameter").First(p => Name(p) == "Sha256");
            aParameter.Remove();
            Find(doc, "Get-TopTalker").Descendants(Maml + "navigationLink").First().Element(Maml + "uri").Value = "https://example.com/help";
            Parameters(Find(doc, "Get-ConnectionHistory")).First(p => Name(p) == "ProcessId").SetAttributeValue("aliases", "none");
            Parameters(Find(doc, "Watch-Connection")).First(p => Name(p) == "RemoteAddress").SetAttributeValue("globbing", "false");
            Parameters(Find(doc, "Get-ConnectionBlock")).First(p => Name(p) == "RemoteAddress").SetAttributeValue("globbing", "false");
            var unblock = Parameters(Find(doc, "Unblock-ConnectionRemote")).First(p => Name(p) == "RemoteAddress");
            unblock.Element(Maml + "description").Add(new XElement(Maml + "para", "Wildcards are supported (203.0.113.*)."));

            var problems = Problems(doc, cmdlets);

            Assert.Contains(problems, p => p.StartsWith("-State has the same description in Get-TopTalker and Watch-Connection", StringComparison.Ordinal));
            Assert.Contains("Get-MonitoredConnection: examples are numbered 1, 1, 3, 4, 5, 6, 7, 8, 9; expected 1..9", problems);
            Assert.Contains(problems, p => p.StartsWith("type name spelled more than one way: String[], string[]", StringComparison.Ordinal));
            Assert.Contains(problems, p => p.StartsWith("Get-ConnectionStatistic -", StringComparison.Ordinal) && p.Contains("documented as string[] but is String[]"));
            Assert.Contains("Update-ConnectionGeoDatabase: parameters not documented: Sha256", problems);
            Assert.Contains("Get-TopTalker: a related link has a URI, which Get-Help -Online would open: https://example.com/help", problems);
            Assert.Contains("Get-ConnectionHistory -ProcessId (parameters): aliases documented as none but are Id, PID, OwningProcess", problems);
            Assert.Contains("Watch-Connection -RemoteAddress (parameters): globbing documented as false but [SupportsWildcards] is there", problems);
            Assert.Contains("Get-ConnectionBlock -RemoteAddress (parameters): globbing documented as false but [SupportsWildcards] is there", problems);
            Assert.Contains("Unblock-ConnectionRemote -RemoteAddress: its help says it takes wildcards but it has no [SupportsWildcards]", problems);
        }

        /// <summary>
        /// No cmdlet's Get-Help -Online opens a third-party page (a newcomer's trial: Update-ConnectionGeoDatabase's opened
        /// MaxMind's website, the first related link's URI): the module has no online help, so every HelpUri is empty.
        /// </summary>
        [Fact]
        public void NoCmdletHasAnOnlineHelpUri()
        {
            var commands = _ps.Invoke("Get-Command -Module ConnectionsMonitor | ForEach-Object { $_.Name + ' ' + $_.HelpUri }").Select(o => o.ToString().TrimEnd()).ToList();
            Assert.Equal(ExportedCmdlets().OrderBy(n => n, StringComparer.Ordinal), commands.OrderBy(n => n, StringComparer.Ordinal));
        }

        /// <summary>Get-Help in a real runspace finds the file and shows each cmdlet's examples, numbered, with their code.</summary>
        [Fact]
        public void GetHelpFullShowsTheExamplesOfEveryCmdlet()
        {
            var doc = XDocument.Load(HelpFile);
            foreach (var name in ExportedCmdlets())
            {
                var expected = Find(doc, name).Descendants(Command + "example")
                    .Select(e => (Title: ((string)e.Element(Maml + "title")).Trim(), Code: ((string)e.Element(Dev + "code")).Split('\n')[0].Trim()))
                    .ToList();
                var help = Assert.Single(_ps.Invoke("Get-Help -Name $args[0] -Full", name));
                var titles = _ps.Invoke("@($args[0].examples.example) | ForEach-Object { $_.title }", help).Select(t => t.ToString().Trim()).ToList();
                Assert.Equal(expected.Select(e => e.Title), titles);

                string shown = _ps.Render("Get-Help -Name " + name + " -Full");
                int at = 0;
                foreach (var (title, code) in expected)
                {
                    // In order, each title then its code: the examples are shown as written, not merely present.
                    int t = shown.IndexOf(title, at, StringComparison.Ordinal);
                    Assert.True(t >= 0, name + ": Get-Help -Full does not show \"" + title + "\" (in order)");
                    int c = shown.IndexOf(code, t, StringComparison.Ordinal);
                    Assert.True(c >= 0, name + ": Get-Help -Full does not show the code of \"" + title + "\": " + code);
                    at = c;
                }
            }
        }

        /// <summary>
        /// The help's syntax has one line per parameter set, each with that set's mandatory parameters (a newcomer's trial: one
        /// merged line made Unblock-ConnectionRemote's -All look required with -RemoteAddress).
        /// </summary>
        [Fact]
        public void TheSyntaxHasOneLinePerParameterSet()
        {
            var lines = _ps.Invoke(
                "foreach ($c in Get-Command -Module ConnectionsMonitor -CommandType Cmdlet) {" +
                "  $items = @((Get-Help $c.Name).syntax.syntaxItem);" +
                "  $help = @($items | ForEach-Object { (@($_.parameter | Where-Object required -eq 'true' | ForEach-Object name) | Sort-Object) -join ',' } | Sort-Object);" +
                "  $sets = @($c.ParameterSets | ForEach-Object { (@($_.Parameters | Where-Object IsMandatory | ForEach-Object Name) | Sort-Object) -join ',' } | Sort-Object);" +
                "  if (($help -join ' | ') -ne ($sets -join ' | ')) { $c.Name + ': help [' + ($help -join ' | ') + '], sets [' + ($sets -join ' | ') + ']' } }")
                .Select(o => o.ToString()).ToList();
            Assert.Empty(lines);
        }

        /// <summary>
        /// Get-Help says "Accept wildcard characters: true" (globbing) for exactly the parameters that carry [SupportsWildcards],
        /// and those are the ones whose code matches wildcards: -RemoteAddress of every cmdlet that filters by it as an address
        /// pattern (a tester's find: '127.0.*' worked, Get-Help said false), -ProcessName, the alert rules' -Name. Not
        /// Block-/Unblock-ConnectionRemote's -RemoteAddress (exact addresses or blocks), nor -Country (exact codes).
        /// </summary>
        [Fact]
        public void GetHelpSaysWhichParametersTakeWildcards()
        {
            var shown = _ps.Invoke(
                "foreach ($c in Get-Command -Module ConnectionsMonitor -CommandType Cmdlet) {" +
                "  foreach ($p in @((Get-Help $c.Name -Full).parameters.parameter)) { if ($p.globbing -eq 'true') { $c.Name + ' -' + $p.name } } }")
                .Select(o => o.ToString()).OrderBy(n => n, StringComparer.Ordinal).ToList();
            var declared = Cmdlets().SelectMany(c => c.Wildcards.Select(w => c.Name + " -" + w)).OrderBy(n => n, StringComparer.Ordinal).ToList();
            Assert.Equal(declared, shown);

            var matching = new[] { "Get-MonitoredConnection", "Get-TopTalker", "Get-ConnectionStatistic", "Watch-Connection", "Show-ConnectionMonitor",
                                   "Register-ConnectionAlert", "Get-ConnectionHistory" }
                .SelectMany(c => new[] { c + " -RemoteAddress", c + " -ProcessName" })
                .Concat(new[] { "Get-ConnectionBlock -RemoteAddress", "Get-ConnectionAlert -Name", "Test-ConnectionAlert -Name", "Unregister-ConnectionAlert -Name" });
            foreach (var parameter in matching) Assert.Contains(parameter, shown);
            foreach (var exact in new[] { "Block-ConnectionRemote -RemoteAddress", "Unblock-ConnectionRemote -RemoteAddress", "Get-MonitoredConnection -Country" })
                Assert.DoesNotContain(exact, shown);
        }

        // ---- The checks -------------------------------------------------------------------------

        /// <summary>A cmdlet as declared: its parameters (name → type name as help spells it) and where each is declared.</summary>
        private sealed class DeclaredCmdlet
        {
            public string Name;
            public Dictionary<string, string> Types = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            /// <summary>Each parameter's aliases as help spells them: "Id, PID, OwningProcess", or "none".</summary>
            public Dictionary<string, string> Aliases = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            public HashSet<string> FromFilterBase = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            /// <summary>The parameters that carry [SupportsWildcards] (Get-Help's "Accept wildcard characters", globbing).</summary>
            public HashSet<string> Wildcards = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        }

        private static List<string> Problems(XDocument doc, IReadOnlyList<DeclaredCmdlet> cmdlets)
        {
            var problems = new List<string>();
            var documented = doc.Root.Elements(Command + "command").Select(c => NameOf(c)).ToList();
            foreach (var extra in documented.Except(cmdlets.Select(c => c.Name), StringComparer.OrdinalIgnoreCase))
                problems.Add(extra + ": documented but not exported");
            foreach (var twice in documented.GroupBy(n => n, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1))
                problems.Add(twice.Key + ": documented " + twice.Count() + " times");

            var byDescription = new Dictionary<string, List<(string Cmdlet, string Parameter)>>(StringComparer.Ordinal);
            foreach (var cmdlet in cmdlets)
            {
                var c = doc.Root.Elements(Command + "command").FirstOrDefault(e => string.Equals(NameOf(e), cmdlet.Name, StringComparison.OrdinalIgnoreCase));
                if (c == null)
                {
                    problems.Add(cmdlet.Name + ": no help");
                    continue;
                }
                if (string.IsNullOrWhiteSpace(Paras(c.Element(Command + "details")?.Element(Maml + "description"))))
                    problems.Add(cmdlet.Name + ": no synopsis");
                if (Paras(c.Element(Maml + "description")).Length < 40)
                    problems.Add(cmdlet.Name + ": no description");

                // Examples: two or more, titled in the file's style, numbered 1..N.
                var titles = c.Descendants(Command + "example").Select(e => ((string)e.Element(Maml + "title") ?? "").Trim()).ToList();
                if (titles.Count < 2) problems.Add(cmdlet.Name + ": " + titles.Count + " example(s); two or more expected");
                var numbers = new List<string>();
                foreach (var title in titles)
                {
                    var m = ExampleTitle.Match(title);
                    if (!m.Success) problems.Add(cmdlet.Name + ": example title not in the file's style: " + title);
                    numbers.Add(m.Success ? m.Groups["n"].Value : "?");
                }
                var expected = Enumerable.Range(1, titles.Count).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
                if (!numbers.SequenceEqual(expected))
                    problems.Add(cmdlet.Name + ": examples are numbered " + string.Join(", ", numbers) + "; expected 1.." + titles.Count);
                // Related links name their address in the text only: PowerShell makes the first link with a URI the cmdlet's
                // HelpUri, which Get-Help -Online opens (a newcomer's trial: Update-ConnectionGeoDatabase's opened MaxMind's site).
                foreach (var link in c.Descendants(Maml + "navigationLink").Where(l => !string.IsNullOrWhiteSpace((string)l.Element(Maml + "uri"))))
                    problems.Add(cmdlet.Name + ": a related link has a URI, which Get-Help -Online would open: " + ((string)link.Element(Maml + "uri")).Trim());
                foreach (var example in c.Descendants(Command + "example"))
                    if (string.IsNullOrWhiteSpace((string)example.Element(Dev + "code")))
                        problems.Add(cmdlet.Name + ": an example without code: " + (string)example.Element(Maml + "title"));

                // Parameters: exactly the declared ones, in the parameters section and in the syntax (each item of a cmdlet with
                // one parameter set; between them for several, one item per set: TheSyntaxHasOneLinePerParameterSet).
                var sections = new List<(string Where, List<XElement> Items)> { ("parameters", Parameters(c).ToList()) };
                var syntaxItems = (c.Element(Command + "syntax")?.Elements(Command + "syntaxItem") ?? Enumerable.Empty<XElement>()).ToList();
                foreach (var item in syntaxItems)
                    sections.Add(("syntax", item.Elements(Command + "parameter").ToList()));
                var inSomeItem = syntaxItems.SelectMany(i => i.Elements(Command + "parameter")).Select(Name).ToList();
                foreach (var (where, items) in sections)
                {
                    var names = items.Select(Name).ToList();
                    var covered = where == "syntax" && syntaxItems.Count > 1 ? inSomeItem : names;
                    var missing = cmdlet.Types.Keys.Where(k => !covered.Contains(k, StringComparer.OrdinalIgnoreCase)).OrderBy(k => k, StringComparer.Ordinal).ToList();
                    var extra = names.Where(n => !cmdlet.Types.ContainsKey(n)).ToList();
                    var twice = names.GroupBy(n => n, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
                    string label = where == "parameters" ? cmdlet.Name + ": parameters" : cmdlet.Name + ": syntax";
                    if (missing.Count > 0) problems.Add(label + " not documented: " + string.Join(", ", missing));
                    if (extra.Count > 0) problems.Add(label + " documented but not declared: " + string.Join(", ", extra));
                    if (twice.Count > 0) problems.Add(label + " documented twice: " + string.Join(", ", twice));

                    foreach (var p in items)
                    {
                        string name = Name(p);
                        if (!cmdlet.Types.TryGetValue(name, out var type)) continue;
                        string devType = (string)p.Element(Dev + "type")?.Element(Maml + "name");
                        string value = (string)p.Element(Command + "parameterValue");
                        if (devType != type)
                            problems.Add(cmdlet.Name + " -" + name + " (" + where + "): type documented as " + (devType ?? "nothing") + " but is " + type);
                        string aliases = (string)p.Attribute("aliases");
                        if (aliases != null && cmdlet.Aliases.TryGetValue(name, out var declared) && aliases != declared)
                            problems.Add(cmdlet.Name + " -" + name + " (" + where + "): aliases documented as " + aliases + " but are " + declared);
                        if (type == "SwitchParameter" ? value != null : value != type)
                            problems.Add(cmdlet.Name + " -" + name + " (" + where + "): value documented as " + (value ?? "nothing") + " but is " + (type == "SwitchParameter" ? "none (a switch)" : type));
                        // Get-Help shows the file's globbing ("Accept wildcard characters"), not the attribute: the two must agree.
                        string globbing = (string)p.Attribute("globbing");
                        string wildcards = cmdlet.Wildcards.Contains(name) ? "true" : "false";
                        if (!string.Equals(globbing, wildcards, StringComparison.OrdinalIgnoreCase))
                            problems.Add(cmdlet.Name + " -" + name + " (" + where + "): globbing documented as " + (globbing ?? "nothing") + " but [SupportsWildcards] is " +
                                         (wildcards == "true" ? "there" : "not"));
                    }
                }

                foreach (var p in Parameters(c))
                {
                    string text = Description(p);
                    if (string.IsNullOrWhiteSpace(text))
                    {
                        problems.Add(cmdlet.Name + " -" + Name(p) + ": no description");
                        continue;
                    }
                    // A parameter whose help says it takes wildcards says so to Get-Help too (a tester's find: -RemoteAddress '127.0.*'
                    // worked and its text said so, but Get-Help showed "Accept wildcard characters: false").
                    if (WildcardText.IsMatch(text) && !cmdlet.Wildcards.Contains(Name(p)))
                        problems.Add(cmdlet.Name + " -" + Name(p) + ": its help says it takes wildcards but it has no [SupportsWildcards]");
                    if (!byDescription.TryGetValue(text, out var users)) byDescription[text] = users = new List<(string, string)>();
                    users.Add((cmdlet.Name, Name(p)));
                    // Text written for another cmdlet shows in its examples: "Get-Process x | Watch-Connection" in Get-TopTalker's help.
                    foreach (var other in cmdlets.Where(o => o.Name != cmdlet.Name))
                        if (Regex.IsMatch(text, @"\|\s*" + Regex.Escape(other.Name) + @"\b"))
                            problems.Add(cmdlet.Name + " -" + Name(p) + ": its description pipes into " + other.Name);
                }
            }

            // A description shared verbatim between cmdlets is copied text, unless it is a filter parameter
            // declared once on ConnectionFilterCommandBase, which means the same everywhere. -State is not
            // such a one: Watch-Connection filters events, the others filter snapshots; each says its own.
            foreach (var (text, users) in byDescription)
            {
                var distinctCmdlets = users.Select(u => u.Cmdlet).Distinct().ToList();
                if (distinctCmdlets.Count < 2) continue;
                bool sharedFilter = users.Select(u => u.Parameter).Distinct(StringComparer.OrdinalIgnoreCase).Count() == 1
                    && users.All(u => cmdlets.First(c => c.Name == u.Cmdlet).FromFilterBase.Contains(u.Parameter))
                    && !string.Equals(users[0].Parameter, "State", StringComparison.OrdinalIgnoreCase);
                if (!sharedFilter)
                    problems.Add("-" + string.Join("/-", users.Select(u => u.Parameter).Distinct()) + " has the same description in " +
                                 string.Join(" and ", distinctCmdlets.OrderBy(n => n, StringComparer.Ordinal)) + ": \"" + Shorten(text) + "\"");
            }

            // One spelling per type name across the file (String[] everywhere, not string[] here and String[] there).
            var typeNames = doc.Descendants(Dev + "type").Select(t => (string)t.Element(Maml + "name"))
                .Concat(doc.Descendants(Command + "parameterValue").Select(v => (string)v))
                .Where(n => !string.IsNullOrWhiteSpace(n)).Select(n => n.Trim());
            foreach (var group in typeNames.GroupBy(n => n, StringComparer.OrdinalIgnoreCase))
            {
                var spellings = group.Distinct(StringComparer.Ordinal).OrderBy(n => n, StringComparer.Ordinal).ToList();
                if (spellings.Count > 1) problems.Add("type name spelled more than one way: " + string.Join(", ", spellings));
            }
            return problems;
        }

        // ---- Reading ----------------------------------------------------------------------------

        private static string NameOf(XElement command) => ((string)command.Element(Command + "details")?.Element(Command + "name") ?? "").Trim();

        private static XElement Find(XDocument doc, string cmdlet) => doc.Root.Elements(Command + "command").Single(c => NameOf(c) == cmdlet);

        private static IEnumerable<XElement> Parameters(XElement command) =>
            command.Element(Command + "parameters")?.Elements(Command + "parameter") ?? Enumerable.Empty<XElement>();

        private static string Name(XElement parameter) => ((string)parameter.Element(Maml + "name") ?? "").Trim();

        private static string Description(XElement parameter) => Paras(parameter.Element(Maml + "description"));

        private static string Paras(XElement description) =>
            description == null ? "" : string.Join(" ", description.Elements(Maml + "para").Select(p => p.Value.Trim())).Trim();

        private static string Shorten(string text) => text.Length <= 80 ? text : text.Substring(0, 77) + "...";

        private static List<string> ExportedCmdlets()
        {
            string manifest = File.ReadAllText(Path.Combine(Repo.Root, "ConnectionsMonitor.psd1"));
            var list = Regex.Match(manifest, @"CmdletsToExport\s*=\s*@\((?<list>[^)]*)\)");
            Assert.True(list.Success, "CmdletsToExport not found in ConnectionsMonitor.psd1");
            var names = Regex.Matches(list.Groups["list"].Value, @"'([^']+)'").Select(m => m.Groups[1].Value).ToList();
            Assert.NotEmpty(names);
            return names;
        }

        /// <summary>The exported cmdlets' classes, as the module loaded them, and the parameters each declares.</summary>
        private List<DeclaredCmdlet> Cmdlets()
        {
            var result = new List<DeclaredCmdlet>();
            foreach (var name in ExportedCmdlets())
            {
                var type = (Type)Assert.Single(_ps.Invoke("(Get-Command -Name $args[0] -CommandType Cmdlet).ImplementingType", name)).BaseObject;
                var cmdlet = new DeclaredCmdlet { Name = name };
                foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
                {
                    if (!property.GetCustomAttributes<ParameterAttribute>(inherit: true).Any()) continue;
                    cmdlet.Types[property.Name] = property.PropertyType.Name;
                    var aliases = property.GetCustomAttributes<AliasAttribute>(inherit: true).SelectMany(a => a.AliasNames).ToList();
                    cmdlet.Aliases[property.Name] = aliases.Count == 0 ? "none" : string.Join(", ", aliases);
                    if (property.DeclaringType?.Name == "ConnectionFilterCommandBase") cmdlet.FromFilterBase.Add(property.Name);
                    if (property.GetCustomAttributes<SupportsWildcardsAttribute>(inherit: true).Any()) cmdlet.Wildcards.Add(property.Name);
                }
                if (type.GetCustomAttribute<CmdletAttribute>()?.SupportsShouldProcess == true)
                {
                    cmdlet.Types["WhatIf"] = nameof(SwitchParameter);
                    cmdlet.Types["Confirm"] = nameof(SwitchParameter);
                }
                result.Add(cmdlet);
            }
            return result;
        }
    }
}
