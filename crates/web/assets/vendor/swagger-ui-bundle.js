/* placeholder until scripts/vendor-assets.sh runs */
