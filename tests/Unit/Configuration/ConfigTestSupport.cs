using System;
using System.Collections;
using System.IO;
using System.Linq;
using System.Reflection;
using ConnectionsMonitor.Engine.Configuration;
using Xunit;

namespace ConnectionsMonitor.Tests.Configuration
{
    internal static class ConfigTestSupport
    {
        public static string TestData(string name) => Path.Combine(AppContext.BaseDirectory, "TestData", name);

        /// <summary>Loads text that must fail, and returns the exception.</summary>
        public static ConfigException Fails(string yaml) =>
            Assert.Throws<ConfigException>(() => ConfigLoader.LoadText(yaml, "config.yml"));

        /// <summary>The one error of a file that must have exactly one.</summary>
        public static ConfigError SingleError(string yaml) => Assert.Single(Fails(yaml).Errors);

        /// <summary>
        /// Compares two configurations property by property (recursively, collections element-wise;
        /// filter patterns by their text), so a new property is compared without touching this code.
        /// </summary>
        public static void AssertSameValues(object expected, object actual, string path = "config")
        {
            if (expected == null || actual == null)
            {
                Assert.True(expected == actual, path + ": one side is null");
                return;
            }
            var type = expected.GetType();
            Assert.True(type == actual.GetType(), path + ": different types");
            if (type.IsPrimitive || type.IsEnum || expected is string || expected is Uri || expected is ConfigColor
                || type.Namespace == "ConnectionsMonitor.Engine.Filtering")
            {
                Assert.True(Equals(expected.ToString(), actual.ToString()) && (!(expected is ConfigColor) || expected.Equals(actual)),
                    path + ": expected " + expected + ", got " + actual);
                return;
            }
            if (expected is IDictionary || type.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(System.Collections.Generic.IReadOnlyDictionary<,>)))
            {
                var e = ((IEnumerable)expected).Cast<object>().ToList();
                var a = ((IEnumerable)actual).Cast<object>().OrderBy(x => e.FindIndex(y => y.ToString() == x.ToString())).ToList();
                Assert.True(e.Count == a.Count, path + ": expected " + e.Count + " entries, got " + a.Count);
                for (int i = 0; i < e.Count; i++) AssertSameValues(e[i], a[i], path + "{" + i + "}");
                return;
            }
            if (expected is IEnumerable seq)
            {
                var e = seq.Cast<object>().ToList();
                var a = ((IEnumerable)actual).Cast<object>().ToList();
                Assert.True(e.Count == a.Count, path + ": expected " + e.Count + " items, got " + a.Count);
                for (int i = 0; i < e.Count; i++) AssertSameValues(e[i], a[i], path + "[" + i + "]");
                return;
            }
            foreach (var p in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.GetIndexParameters().Length == 0))
                AssertSameValues(p.GetValue(expected), p.GetValue(actual), path + "." + p.Name);
        }
    }
}
